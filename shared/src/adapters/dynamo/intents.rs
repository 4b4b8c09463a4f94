//! Payment intents on DynamoDB: conditional writes on status and version, and
//! one transaction whenever an intent claims, frees or pays its payable, or
//! its change has events to record (each in the same transaction).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use time::OffsetDateTime;

use super::DynamoStore;
use super::codec::{Item, corrupt, n, names, s, ts, values};
use super::items::{
    gateway_intent_from_item, gateway_intent_to_item, intent_from_item, intent_to_item,
    payable_from_item, payment_to_item,
};
use super::keys::{ALL_INTENTS_LIST, ALL_INTENTS_SHARDS};
use super::keys::{
    GATEWAY_INTENT_SK, INTENT_PREFIX, INTENT_SK, PAYABLE_SK, gateway_intent_pk, intent_pk,
    payable_pk, user_partition,
};
use super::request::{build, key, transaction_error, unless_refused};
use super::sharded::ShardedList;
use super::table::{ALL_INTENTS, BY_USER};
use crate::domain::{
    Event, GatewayId, IntentId, IntentStatus, OtpHash, Payable, PayableRef, PayableStatus, Payment,
    PaymentIntent, UserId,
};
use crate::ports::{
    Expected, IntentStore, OpenOutcome, Page, PageRequest, PayableStore, StoreError,
};

impl DynamoStore {
    fn put_intent_conditional(
        &self,
        intent: &PaymentIntent,
        expected: Expected,
    ) -> Result<Put, StoreError> {
        build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(intent_to_item(intent, expected.version + 1)?))
                .condition_expression("#status = :expected_status AND version = :expected_version")
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":expected_status", s(expected.status.as_str())),
                    (":expected_version", n(expected.version)),
                ])))
                .build(),
        )
    }
}

/// Where each write sits in the transaction that opens an intent for a payable:
/// its cancellation reasons come back in the same order.
const CLAIM: usize = 0;
const LOOKUP: usize = 2;

impl DynamoStore {
    /// The lookup item of an intent the gateway already named: a gateway's id
    /// names one intent, so a second intent under it is refused.
    fn put_gateway_lookup(&self, intent: &PaymentIntent) -> Result<Option<Put>, StoreError> {
        gateway_intent_to_item(intent)?
            .map(|item| self.put_new(item))
            .transpose()
    }

    /// An intent that collects no payable: only its id (and its gateway's id
    /// for it) must be new.
    async fn open_standalone(
        &self,
        put: Put,
        lookup: Option<Put>,
        events: Vec<TransactWriteItem>,
    ) -> Result<OpenOutcome, StoreError> {
        // All or nothing: an intent the gateway's webhooks could not find, or a
        // lookup pointing at no intent, would strand the gateway's events; an
        // intent without its created event, or the event of no intent, would
        // tell the operator something else than what happened.
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(lookup.map(|l| TransactWriteItem::builder().put(l).build()));
        items.extend(events);
        self.transact(items).await?;
        Ok(OpenOutcome::Created)
    }

    /// An intent that claims its payable's single open-intent slot in the same
    /// transaction that stores it (and its events).
    async fn open_claiming(
        &self,
        intent: &PaymentIntent,
        payable: &PayableRef,
        put: Put,
        lookup: Option<Put>,
        events: Vec<TransactWriteItem>,
    ) -> Result<OpenOutcome, StoreError> {
        // The payable's open_intent_id is the lock that keeps one open intent per payable.
        let claim = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
                // The intent carries the owner's email: from now on the owner stays.
                .update_expression(
                    "SET open_intent_id = :intent, owner_fixed = :fixed, updated_at = :now",
                )
                .condition_expression(
                    "attribute_exists(pk) AND #status = :open AND attribute_not_exists(open_intent_id) \
                     AND amount_minor = :amount AND currency = :currency AND owner_user_id = :owner \
                     AND (attribute_not_exists(allocated_minor) OR allocated_minor = :zero)",
                )
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":intent", s(intent.id().to_string())),
                    (":now", s(ts(intent.created_at()))),
                    (":open", s(PayableStatus::Open.as_str())),
                    (":amount", n(intent.amount().minor())),
                    (":currency", s(intent.amount().currency().code())),
                    (":owner", s(intent.payer().user_id.as_str())),
                    (":zero", n(0)),
                    (":fixed", AttributeValue::Bool(true)),
                ])))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )?;
        let has_lookup = lookup.is_some();
        let mut items = vec![
            TransactWriteItem::builder().update(claim).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        items.extend(lookup.map(|l| TransactWriteItem::builder().put(l).build()));
        items.extend(events);
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(e) = result else {
            return Ok(OpenOutcome::Created);
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
        {
            let reasons = c.cancellation_reasons();
            // Another intent already goes by this gateway id: not a payable's
            // race to retry, the same conflict as a standalone intent meets.
            if has_lookup
                && reasons
                    .get(LOOKUP)
                    .is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                return Err(StoreError::Conflict);
            }
            if let Some(old) = reasons.get(CLAIM).and_then(|r| r.item.clone()) {
                let old = payable_from_item(old)?;
                return Ok(match old.open_intent_id() {
                    Some(id) => OpenOutcome::PayableHasOpenIntent(id),
                    None => OpenOutcome::PayableChanged,
                });
            }
        }
        match transaction_error(e) {
            // Lost to a concurrent transaction on the same payable: the caller re-reads.
            StoreError::Conflict => Ok(OpenOutcome::PayableChanged),
            other => Err(other),
        }
    }

    /// The payable that `intent`, which holds it, is about to pay, as it will
    /// stand paid (what its `payable.paid` event shows), and when it was last
    /// written before. `None` when the intent no longer holds it (the write
    /// would lose anyway).
    async fn payable_paid_by(
        &self,
        intent: &PaymentIntent,
        payable: &PayableRef,
    ) -> Result<Option<(Payable, OffsetDateTime)>, StoreError> {
        let Some(mut paid) = self.get_payable(payable).await? else {
            return Ok(None);
        };
        if !paid.is_held_by(&intent.id()) {
            return Ok(None);
        }
        let read_at = paid.updated_at();
        paid.mark_paid(intent.updated_at());
        Ok(Some((paid, read_at)))
    }
}

/// The intent as a write stores it: at the version after `expected`.
fn as_stored(intent: &PaymentIntent, expected: Expected) -> PaymentIntent {
    let mut stored = intent.clone();
    stored.stored_as(expected.version + 1);
    stored
}

fn intents(page: Page<Item>) -> Result<Page<PaymentIntent>, StoreError> {
    page.try_map(intent_from_item)
}

#[async_trait::async_trait]
impl IntentStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(intent = %intent.id()), err)]
    async fn open_intent(&self, intent: &mut PaymentIntent) -> Result<OpenOutcome, StoreError> {
        let put = self.put_new(intent_to_item(intent, 1)?)?;
        let lookup = self.put_gateway_lookup(intent)?;
        let mut opened = intent.clone();
        opened.stored_as(1);
        let events = self.put_events(&Event::for_intent_change(
            None,
            &opened,
            intent.created_at(),
        ))?;
        let outcome = match &intent.payable() {
            None => self.open_standalone(put, lookup, events).await?,
            Some(payable) => {
                self.open_claiming(intent, payable, put, lookup, events)
                    .await?
            }
        };
        if matches!(outcome, OpenOutcome::Created) {
            *intent = opened;
        }
        Ok(outcome)
    }

    #[tracing::instrument(skip_all, fields(intent = %id), err)]
    async fn get_intent(&self, id: &IntentId) -> Result<Option<PaymentIntent>, StoreError> {
        let item = self.get_consistent(key(intent_pk(id), INTENT_SK)).await?;
        item.map(intent_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(intent = %intent.id(), to = %intent.status()), err)]
    async fn save_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
    ) -> Result<(), StoreError> {
        let put = self.put_intent_conditional(intent, expected)?;
        let events = Event::for_intent_change(
            Some(expected.status),
            &as_stored(intent, expected),
            intent.updated_at(),
        );
        if !events.is_empty() {
            // The change and what it announces, together or not at all.
            let mut items = vec![TransactWriteItem::builder().put(put).build()];
            items.extend(self.put_events(&events)?);
            self.transact(items).await?;
            intent.stored_as(expected.version + 1);
            return Ok(());
        }
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        unless_refused(written)?.ok_or(StoreError::Conflict)?;
        intent.stored_as(expected.version + 1);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(intent = %intent.id(), to = %intent.status()), err)]
    async fn finish_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: Option<&Payment>,
    ) -> Result<(), StoreError> {
        let now = intent.updated_at();
        let mut events =
            Event::for_intent_change(Some(expected.status), &as_stored(intent, expected), now);
        if let Some(payment) = payment {
            events.extend(Event::for_new_payment(payment, now));
        }
        // A payable marked paid shows in its event as the write leaves it,
        // which needs the fields this write does not set: read it first, and
        // write only if nothing changed it since (`updated_at`, which every
        // write of a payable sets).
        let paid = match (&intent.payable(), payment) {
            (Some(payable), Some(_)) => match self.payable_paid_by(intent, payable).await? {
                Some(paid) => Some(paid),
                None => return Err(StoreError::Conflict),
            },
            _ => None,
        };
        if let Some((paid, _)) = &paid {
            events.extend(Event::for_paid_payable(paid, now));
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .put(self.put_intent_conditional(intent, expected)?)
                .build(),
        ];
        if let Some(payable) = &intent.payable() {
            // Only the intent holding the payable may free it, or mark it paid.
            let (update, mut vals) = match payment {
                Some(_) => (
                    "SET #status = :paid, paid_at = :now, updated_at = :now, \
                     allocated_minor = amount_minor, paid_minor = amount_minor REMOVE open_intent_id",
                    vec![(":paid", s(PayableStatus::Paid.as_str()))],
                ),
                None => ("SET updated_at = :now REMOVE open_intent_id", vec![]),
            };
            let mut condition = "open_intent_id = :intent".to_owned();
            if let Some((_, read_at)) = &paid {
                condition.push_str(" AND updated_at = :read_at");
                vals.push((":read_at", s(ts(*read_at))));
            }
            vals.push((":intent", s(intent.id().to_string())));
            vals.push((":now", s(ts(now))));
            let mut release = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_values(Some(values(vals)));
            if payment.is_some() {
                release =
                    release.set_expression_attribute_names(Some(names(&[("#status", "status")])));
            }
            items.push(
                TransactWriteItem::builder()
                    .update(build(release.build())?)
                    .build(),
            );
        }
        if let Some(payment) = payment {
            let put = self.put_new(payment_to_item(payment)?)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        items.extend(self.put_events(&events)?);
        self.transact(items).await?;
        intent.stored_as(expected.version + 1);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(intent = %intent.id()), err)]
    async fn record_late_success(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: &Payment,
    ) -> Result<(), StoreError> {
        let flagged = self.put_intent_conditional(intent, expected)?;
        // The payable is not touched: it may be paid or held by a newer intent,
        // and this money is a person's to settle.
        let payment_put = self.put_new(payment_to_item(payment)?)?;
        let now = intent.updated_at();
        let mut events =
            Event::for_intent_change(Some(expected.status), &as_stored(intent, expected), now);
        events.extend(Event::for_new_payment(payment, now));
        let mut items = vec![
            TransactWriteItem::builder().put(flagged).build(),
            TransactWriteItem::builder().put(payment_put).build(),
        ];
        items.extend(self.put_events(&events)?);
        self.transact(items).await?;
        intent.stored_as(expected.version + 1);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(intent = %id), err)]
    async fn reserve_otp_attempt(
        &self,
        id: &IntentId,
        code: &OtpHash,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        // An atomic increment bounded by the limit, not a version check: concurrent
        // guesses then all count, exactly, without retries, and each is compared
        // only after its attempt is counted. The hash ties the attempt to the code
        // the guess will be compared with: a code sent meanwhile takes no attempt.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(intent_pk(id), INTENT_SK)))
            .update_expression("SET otp_attempts = otp_attempts + :one, version = version + :one, updated_at = :now")
            .condition_expression(
                "#status = :awaiting AND otp_attempts < :limit AND otp_hash = :hash",
            )
            .set_expression_attribute_names(Some(names(&[("#status", "status")])))
            .set_expression_attribute_values(Some(values(vec![
                (":one", n(1)),
                (":now", s(ts(now))),
                (":awaiting", s(IntentStatus::RequiresAction.as_str())),
                (":limit", n(limit)),
                (":hash", s(hex::encode(code.as_bytes()))),
            ])))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let Some(out) = unless_refused(result)? else {
            return Ok(None);
        };
        let attempts = out
            .attributes
            .as_ref()
            .and_then(|a| a.get("otp_attempts"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("otp_attempts", "missing after update"))?;
        Ok(Some(attempts))
    }

    #[tracing::instrument(skip_all, fields(user = %user), err)]
    async fn list_intents_by_user(
        &self,
        user: &UserId,
        status: Option<IntentStatus>,
        request: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let page = self
            .query_newest_first(
                BY_USER,
                user_partition(user),
                INTENT_PREFIX,
                status.map(|s| ("status", s.as_str())),
                request,
            )
            .await?;
        intents(page)
    }

    #[tracing::instrument(skip_all, fields(gateway = gateway.as_str()), err)]
    async fn find_intent_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_intent_id: &str,
    ) -> Result<Option<PaymentIntent>, StoreError> {
        // Consistent: a webhook may arrive right after the intent was opened.
        let item = self
            .get_consistent(key(
                gateway_intent_pk(gateway, gateway_intent_id),
                GATEWAY_INTENT_SK,
            ))
            .await?;
        match item {
            Some(item) => self.get_intent(&gateway_intent_from_item(item)?).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_all_intents(
        &self,
        request: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let list = ShardedList {
            index: ALL_INTENTS,
            list: ALL_INTENTS_LIST.to_owned(),
            shards: ALL_INTENTS_SHARDS,
        };
        intents(self.query_sharded(&list, request).await?)
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn list_intents_by_payable(
        &self,
        payable: &PayableRef,
        request: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        intents(self.query_payable(payable, INTENT_PREFIX, request).await?)
    }
}
