//! Delivering events to webhook endpoints: one delivery per subscribed
//! endpoint and event, sent signed, retried with backoff, in order per
//! endpoint and object.
//!
//! At least once: a delivery exists (pending, due at once) before anything
//! is sent, so whatever stops a sender half-way, the retry pass finds it
//! due again. Each send is preceded by a claim (a conditional write that
//! moves its due time past the send's timeout; a new delivery is made
//! claimed, in the same write), so two senders never post the same attempt;
//! and followed by the outcome, written only over that claim.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use time::{Duration, OffsetDateTime};
use tracing::Instrument;

use super::AppError;
use crate::app::App;
use crate::domain::delivery::{EventRef, SEND_TIMEOUT, take_in_turns};
use crate::domain::{Attempt, Delivery, EndpointId, NoAnswer, RetryPolicy, WebhookEndpoint};
use crate::ports::{DeliveryCreate, DeliveryPost, OutgoingEvent, StoreError};

/// How long a claim holds a delivery: past the send's timeout, with room
/// for writing the outcome. A sender that dies leaves it due again then.
pub const CLAIM: Duration = Duration::seconds(30);

/// Most due deliveries one retry pass takes on.
pub const RETRY_BATCH: usize = 100;

/// How long a run keeps handing a lane over to its next delivery: within a
/// function's minute, with room for the last send. What is left waits for
/// the next retry pass.
pub const HANDOVER_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

fn policy(app: &App) -> RetryPolicy {
    RetryPolicy::new(app.config.webhook_retry_base)
}

/// A delivery in a sender's hands, with what the sender already read for
/// it: what it holds is not read again before the send.
#[derive(Debug, Clone)]
pub struct InHand {
    pub delivery: Delivery,
    /// Its endpoint as the batch or pass read it (consistently, at its
    /// start); read by its id when absent.
    endpoint: Option<WebhookEndpoint>,
    /// Its event as read to make it; read by its id when absent.
    event: Option<Arc<OutgoingEvent>>,
    /// Made already claimed by this sender: the claim is its own.
    claimed: bool,
}

impl From<Delivery> for InHand {
    fn from(delivery: Delivery) -> Self {
        Self {
            delivery,
            endpoint: None,
            event: None,
            claimed: false,
        }
    }
}

/// The events one batch has read, by id: an event its change wrote before
/// another is read once, for both records.
pub type ReadEvents = BTreeMap<String, Arc<OutgoingEvent>>;

/// Creates the deliveries of event `event_id`: one per endpoint subscribed
/// to its type. A delivery that exists already (the event was dispatched
/// before) is returned as stored. Fails only when the deliveries cannot be
/// written: then nothing of this event is lost, it can be dispatched again.
pub async fn fan_out(app: &App, event_id: &str) -> Result<Vec<InHand>, AppError> {
    let endpoints = app.webhooks.endpoints.list_endpoints().await?;
    fan_out_to(app, event_id, &endpoints, &mut ReadEvents::new()).await
}

/// As [`fan_out`], to `endpoints` as read once for a whole batch, with the
/// events the batch has `read` so far. The events its change wrote before
/// it about the same object get their deliveries first: their own stream
/// records may come later (another shard), and a delivery waits behind the
/// earlier ones of its lane that exist.
pub async fn fan_out_to(
    app: &App,
    event_id: &str,
    endpoints: &[WebhookEndpoint],
    read: &mut ReadEvents,
) -> Result<Vec<InHand>, AppError> {
    // Most events reach no endpoint at all: then the event is not even read.
    if endpoints.is_empty() {
        return Ok(Vec::new());
    }
    let event = read_event(app, event_id, read).await?;
    let mut deliveries = Vec::new();
    for earlier in &event.follows {
        let earlier = read_event(app, earlier, read).await?;
        deliveries.extend(deliveries_of(app, &earlier, endpoints).await?);
    }
    deliveries.extend(deliveries_of(app, &event, endpoints).await?);
    Ok(deliveries)
}

async fn read_event(
    app: &App,
    id: &str,
    read: &mut ReadEvents,
) -> Result<Arc<OutgoingEvent>, AppError> {
    if let Some(event) = read.get(id) {
        return Ok(event.clone());
    }
    let event = app
        .webhooks
        .events
        .event(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Event {id}")))?;
    let event = Arc::new(event);
    read.insert(id.to_owned(), event.clone());
    Ok(event)
}

/// The deliveries of `event` to the endpoints subscribed to its type, as
/// stored (a delivery made before is returned as it is). A new one is made
/// claimed by this sender, in the one write that makes it: it is sent next,
/// and if this sender dies first, it is due again when the claim runs out.
async fn deliveries_of(
    app: &App,
    event: &Arc<OutgoingEvent>,
    endpoints: &[WebhookEndpoint],
) -> Result<Vec<InHand>, AppError> {
    let now = app.clock.now();
    let mut deliveries = Vec::new();
    for endpoint in endpoints
        .iter()
        .filter(|e| e.subscribes_to(&event.event_type))
    {
        let delivery = Delivery::new(
            endpoint.id(),
            EventRef {
                id: event.id.clone(),
                event_type: event.event_type.clone(),
                object_id: event.object_id.clone(),
                created: event.created,
            },
            now,
        )
        .claimed(now + CLAIM);
        let (delivery, claimed) = match app.webhooks.deliveries.create_delivery(&delivery).await? {
            DeliveryCreate::Created => (delivery, true),
            DeliveryCreate::Exists(existing) => (*existing, false),
        };
        deliveries.push(InHand {
            delivery,
            endpoint: Some(endpoint.clone()),
            event: Some(event.clone()),
            claimed,
        });
    }
    Ok(deliveries)
}

/// Sends `deliveries` that are due: each lane in order, one after the
/// other; lanes side by side. Returns how many attempts were made. A
/// delivery that cannot be handled now is left to the retry pass.
pub async fn deliver(app: Arc<App>, deliveries: Vec<InHand>) -> usize {
    let mut lanes: BTreeMap<(EndpointId, String), Vec<InHand>> = BTreeMap::new();
    for d in deliveries {
        let lane = (
            d.delivery.endpoint_id.clone(),
            d.delivery.event.object_id.clone(),
        );
        lanes.entry(lane).or_default().push(d);
    }
    let mut tasks = tokio::task::JoinSet::new();
    let until = Instant::now() + HANDOVER_BUDGET;
    for (_, mut lane) in lanes {
        // The one this sender made claimed first, ahead of the copy found made.
        lane.sort_by_key(|d| (d.delivery.order_key(), !d.claimed));
        // An event and one it follows may both be in the batch: each once.
        lane.dedup_by(|a, b| a.delivery.event.id == b.delivery.event.id);
        let app = app.clone();
        tasks.spawn(async move {
            let mut attempts = 0;
            for d in lane {
                match drive_lane(&app, d, until).await {
                    Ok(n) => attempts += n,
                    Err(e) => tracing::warn!(error = %e, "delivery left to the retry pass"),
                }
            }
            attempts
        });
    }
    let mut attempts = 0;
    while let Some(done) = tasks.join_next().await {
        attempts += done.unwrap_or_default();
    }
    attempts
}

/// One retry pass: the deliveries due now, at most [`RETRY_BATCH`], taken
/// fairly across endpoints (see [`pick_due`]). Returns how many attempts
/// were made.
pub async fn retry_due(app: Arc<App>) -> Result<usize, AppError> {
    let (due, endpoints) = pick_due(&app).await?;
    // The endpoints the pass read are those it sends to: not read again.
    let due = due
        .into_iter()
        .map(|delivery| InHand {
            endpoint: endpoints
                .iter()
                .find(|e| e.id() == &delivery.endpoint_id)
                .cloned(),
            ..InHand::from(delivery)
        })
        .collect();
    Ok(deliver(app, due).await)
}

/// What one retry pass takes on. Each endpoint's due list is read for an
/// equal share of the batch, all at once; the room those with less due
/// leave goes, shared again, to those that filled their share; then the
/// endpoints take their places in turns. So an endpoint that is down with
/// hundreds due gets its share, never the whole pass, and one clearing a
/// backlog while the others are quiet still gets a whole batch.
///
/// Only endpoints that exist are read: a deleted endpoint's deliveries are
/// never sent, and nothing picks them just to give them up. They wait in
/// its due list, read by nobody, until storage lets them go with their
/// retention; an endpoint made again under the same id reads that list,
/// and gives them up (they were meant for the old one) soonest first.
async fn pick_due(app: &Arc<App>) -> Result<(Vec<Delivery>, Vec<WebhookEndpoint>), AppError> {
    let now = app.clock.now();
    let endpoints = app.webhooks.endpoints.list_endpoints().await?;
    let share = RETRY_BATCH.div_ceil(endpoints.len().max(1));
    let shares = endpoints
        .iter()
        .map(|e| (e.id().clone(), None, share))
        .collect();
    // Deliveries in no endpoint's list yet: a store keeps them so only
    // until each is written next, which their attempt here does.
    let (due, strays) = tokio::join!(
        read_due_lists(app, now, shares),
        app.webhooks
            .deliveries
            .stray_due_deliveries(now, RETRY_BATCH),
    );
    let (mut due, strays) = (due?, strays?);
    let found = due.values().map(Vec::len).sum::<usize>() + strays.len();
    let room = RETRY_BATCH.saturating_sub(found);
    let more: Vec<(EndpointId, Option<Delivery>)> = due
        .iter()
        .filter(|(_, list)| list.len() == share)
        .map(|(id, list)| (id.clone(), list.last().cloned()))
        .collect();
    if room > 0 && !more.is_empty() {
        let extra = room.div_ceil(more.len());
        let reads = more
            .into_iter()
            .map(|(id, last)| (id, last, extra))
            .collect();
        for (id, list) in read_due_lists(app, now, reads).await? {
            due.entry(id).or_default().extend(list);
        }
    }
    let found = due.into_values().flatten().chain(strays).collect();
    Ok((take_in_turns(found, RETRY_BATCH), endpoints))
}

/// Reads each `(endpoint, after, limit)` due list at once.
async fn read_due_lists(
    app: &Arc<App>,
    now: OffsetDateTime,
    reads: Vec<(EndpointId, Option<Delivery>, usize)>,
) -> Result<BTreeMap<EndpointId, Vec<Delivery>>, AppError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (endpoint, after, limit) in reads {
        let app = app.clone();
        tasks.spawn(
            async move {
                let due = app
                    .webhooks
                    .deliveries
                    .due_deliveries_to(&endpoint, now, after.as_ref(), limit)
                    .await;
                (endpoint, due)
            }
            .instrument(tracing::Span::current()),
        );
    }
    let mut lists = BTreeMap::new();
    while let Some(read) = tasks.join_next().await {
        let (endpoint, due) = read.map_err(|e| StoreError::Unavailable(e.to_string()))?;
        lists.insert(endpoint, due?);
    }
    Ok(lists)
}

/// What became of one delivery.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Sent, or an attempt failed before it could be (its event could not
    /// be read); finished (succeeded or failed for good) or not. `later`:
    /// the pending deliveries its lane held after it, read before the send.
    Sent {
        finished: bool,
        later: Vec<Delivery>,
    },
    /// Finished without a send: its endpoint or its event is gone.
    Abandoned { later: Vec<Delivery> },
    /// Waits behind an earlier delivery of its lane.
    Waiting,
    /// Not this sender's to send: finished, not due, or claimed by another.
    NotMine,
}

/// Sends `first` if it is due and nothing earlier in its lane is pending;
/// each time one finishes, the next of its lane follows at once (until
/// `until`).
async fn drive_lane(app: &App, first: InHand, until: Instant) -> Result<usize, AppError> {
    let mut attempts = 0;
    let mut step = attempt(app, &first).await?;
    let mut current = first;
    loop {
        if matches!(step, Step::Sent { .. }) {
            attempts += 1;
        }
        let later = match step {
            Step::Sent {
                finished: true,
                later,
            }
            | Step::Abandoned { later } => later,
            _ => return Ok(attempts),
        };
        if Instant::now() >= until {
            return Ok(attempts);
        }
        // The next one was waiting for this one: it goes now, unless it has
        // failed before and waits for its own retry, or a sender holds it
        // (this one, when the batch made it). The lane was read before the
        // send: one made after that read found this one being sent and
        // waits for its end itself (see `read_lane`). Its own sender may be writing it at
        // this moment (putting it back to wait): then the lane is read again.
        let mut next = later.into_iter().next();
        let mut handed_over = None;
        for _ in 0..HANDOVER_TRIES {
            let Some(candidate) = next.take() else {
                return Ok(attempts);
            };
            if !candidate.attempts.is_empty() || candidate.in_flight(app.clock.now()) {
                return Ok(attempts);
            }
            // Same lane, same endpoint; another event, read for its send.
            let candidate = InHand {
                endpoint: current.endpoint.clone(),
                ..InHand::from(candidate)
            };
            let next_step = attempt(app, &candidate).await?;
            if next_step != Step::NotMine {
                handed_over = Some((candidate, next_step));
                break;
            }
            let after = current.delivery.order_key();
            next = app
                .webhooks
                .deliveries
                .pending_in_lane(&current.delivery)
                .await?
                .into_iter()
                .find(|d| d.order_key() > after);
        }
        let Some((next, next_step)) = handed_over else {
            return Ok(attempts);
        };
        current = next;
        step = next_step;
    }
}

/// How often a finished delivery's sender tries to take the next one of its lane.
const HANDOVER_TRIES: usize = 3;

/// One step of one delivery (see [`Step`]).
async fn attempt(app: &App, hand: &InHand) -> Result<Step, AppError> {
    let now = app.clock.now();
    let claimed = if hand.claimed {
        hand.delivery.clone()
    } else {
        match claim(app, &hand.delivery, now).await? {
            Some(claimed) => claimed,
            None => return Ok(Step::NotMine),
        }
    };
    let (earlier, later) = read_lane(app, &claimed).await?;
    if let Some(earlier) = earlier.first() {
        // Looked at again when the earlier one is next tried (or the retry
        // base from now, if sooner is already past); the earlier one's
        // sender hands over at once when it finishes.
        let until = earlier
            .next_attempt_at
            .unwrap_or(now)
            .max(now + policy(app).base);
        finish(app, claimed.postponed(until)).await?;
        return Ok(Step::Waiting);
    }
    // An endpoint deleted and made again under the same id is another
    // endpoint: what was meant for the old one is not sent to it.
    let endpoint = match &hand.endpoint {
        Some(endpoint) => Some(endpoint.clone()),
        None => {
            app.webhooks
                .endpoints
                .get_endpoint(&claimed.endpoint_id)
                .await?
        }
    }
    .filter(|e| claimed.belongs_to_endpoint_created(e.created()));
    let Some(endpoint) = endpoint else {
        finish(app, claimed.abandoned("the endpoint was deleted")).await?;
        return Ok(Step::Abandoned { later });
    };
    let event = match &hand.event {
        Some(event) => Ok(Some(event.clone())),
        None => (app.webhooks.events.event(&claimed.event.id).await).map(|e| e.map(Arc::new)),
    };
    let event = match event {
        Ok(Some(event)) => event,
        Ok(None) => {
            finish(app, claimed.abandoned("the event no longer exists")).await?;
            return Ok(Step::Abandoned { later });
        }
        // Counted as a failed attempt: retried with backoff, given up after
        // the retry window, and its lane moves on then (a claim left to run
        // out would be taken again and again, for ever).
        Err(e) => {
            tracing::warn!(delivery = %claimed.id, error = %e, "event unreadable: attempt failed");
            let failed = Attempt::unanswered(app.clock.now(), 0, NoAnswer::EventUnavailable);
            let after = claimed.after(failed, &policy(app));
            let finished = !after.is_pending();
            finish(app, after).await?;
            return Ok(Step::Sent { finished, later });
        }
    };
    let sent_at = app.clock.now();
    let post = DeliveryPost {
        url: endpoint.url().as_str().to_owned(),
        signature: endpoint.signature(sent_at.unix_timestamp(), &event.body),
        body: event.body.clone(),
    };
    let started = Instant::now();
    let answer = app.webhooks.sender.post(&post).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match answer {
        Ok(status) => Attempt::answered(sent_at, status, latency_ms),
        Err(reason) => Attempt::unanswered(sent_at, latency_ms, reason),
    };
    tracing::info!(
        delivery = %claimed.id,
        endpoint = %claimed.endpoint_id,
        event = %claimed.event.id,
        status_code = outcome.status_code(),
        error = outcome.error().map(NoAnswer::as_str),
        latency_ms,
        "webhook attempt"
    );
    let after = claimed.after(outcome, &policy(app));
    let finished = !after.is_pending();
    finish(app, after).await?;
    Ok(Step::Sent { finished, later })
}

/// How long a delivery waits, at most, for an earlier one of its lane that is
/// being sent: a send ends within [`SEND_TIMEOUT`], and its outcome is written
/// right after.
const LANE_WAIT: std::time::Duration =
    SEND_TIMEOUT.saturating_add(std::time::Duration::from_secs(2));
/// How often the lane is read again while it waits.
const LANE_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// The pending deliveries of `claimed`'s lane: those before it (what holds
/// it back) and those after it (what waits for it). Usually one read. An
/// earlier one in the middle of its send read the lane before this one was
/// made, so its sender will not hand over to this one: it is waited for
/// here, and this one still goes out seconds after its change rather than
/// at the next retry pass.
async fn read_lane(
    app: &App,
    claimed: &Delivery,
) -> Result<(Vec<Delivery>, Vec<Delivery>), AppError> {
    let key = claimed.order_key();
    let mut waited = std::time::Duration::ZERO;
    loop {
        let (earlier, later): (Vec<Delivery>, Vec<Delivery>) = app
            .webhooks
            .deliveries
            .pending_in_lane(claimed)
            .await?
            .into_iter()
            .partition(|d| d.order_key() < key);
        let being_sent = earlier
            .first()
            .is_some_and(|e| e.in_flight(app.clock.now()));
        if !being_sent || waited >= LANE_WAIT {
            return Ok((earlier, later));
        }
        tokio::time::sleep(LANE_POLL).await;
        waited += LANE_POLL;
    }
}

/// Claims `delivery` for this sender; `None` when it is not this sender's
/// to send: finished, not due, or claimed by another.
async fn claim(
    app: &App,
    delivery: &Delivery,
    now: OffsetDateTime,
) -> Result<Option<Delivery>, AppError> {
    // One that has never been sent is taken early: it was waiting for an
    // earlier one of its lane, and the claim below decides who sends it.
    if !delivery.is_pending()
        || delivery.in_flight(now)
        || (!delivery.is_due(now) && !delivery.attempts.is_empty())
    {
        return Ok(None);
    }
    let mut claimed = delivery.claimed(now + CLAIM);
    match app.webhooks.deliveries.save_delivery(&mut claimed).await {
        Ok(()) => Ok(Some(claimed)),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes a delivery's outcome over its claim. Losing that race means the
/// claim ran out and another sender took the delivery: its outcome stands.
async fn finish(app: &App, mut delivery: Delivery) -> Result<(), AppError> {
    match app.webhooks.deliveries.save_delivery(&mut delivery).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => {
            tracing::warn!(delivery = %delivery.id, "claim lost: another sender took this delivery");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
