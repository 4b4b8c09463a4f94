//! Payables on DynamoDB: one item per payable, holding its open-intent lock and
//! the sums of its payments.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use time::OffsetDateTime;

use super::DynamoStore;
use super::codec::{corrupt, n, names, s, ts, unavailable, values};
use super::items::{LineItemItem, payable_from_item, payment_to_item};
use super::keys::{OTP_SENDERS_SK, PAYABLE_SK, PAYMENT_SK, payable_pk, payment_pk};
use super::request::{MAX_TRANSACTION_ITEMS, build, key, transaction_error, unless_refused};
use super::table::TTL_ATTRIBUTE;
use crate::domain::otp::OtpSenders;
use crate::domain::{
    Event, IntentId, OtpPolicy, Payable, PayableRef, PayableStatus, Payment, PaymentStatus,
    RevisionRefused,
};
use crate::ports::{PayableStore, PayableWrite, StoreError};

#[async_trait::async_trait]
impl PayableStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(payable = %payable.payable()), err)]
    async fn upsert_payable(
        &self,
        payable: &Payable,
        now: OffsetDateTime,
    ) -> Result<PayableWrite, StoreError> {
        let line_items: Vec<LineItemItem> = payable
            .line_items()
            .iter()
            .map(LineItemItem::from)
            .collect();
        let line_items =
            serde_dynamo::to_attribute_value(line_items).map_err(|e| corrupt("line items", e))?;
        let mut set = vec![
            "kind = :kind",
            "id = :id",
            "owner_user_id = :owner",
            "owner_email = :email",
            "amount_minor = :amount",
            "currency = :currency",
            "line_items = :line_items",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "#status = if_not_exists(#status, :open)",
            "version = if_not_exists(version, :zero) + :one",
        ];
        let mut remove = Vec::new();
        let mut vals = vec![
            (":kind", s(payable.payable().kind.as_str())),
            (":id", s(payable.payable().id.as_str())),
            (":owner", s(payable.owner().user_id.as_str())),
            (":email", s(payable.owner().email.as_str())),
            (":amount", n(payable.amount().minor())),
            (":currency", s(payable.amount().currency().code())),
            (":line_items", line_items),
            (":now", s(ts(now))),
            (":open", s(PayableStatus::Open.as_str())),
            (":paid", s(PayableStatus::Paid.as_str())),
            (":zero", n(0)),
            (":one", n(1)),
        ];
        // Optional fields absent from the request are removed, as a PUT replaces.
        for (attr, clause, placeholder, value) in [
            (
                "#number",
                "#number = :number",
                ":number",
                payable.number().clone().map(s),
            ),
            (
                "description",
                "description = :description",
                ":description",
                payable.description().clone().map(s),
            ),
            (
                "business_id",
                "business_id = :business",
                ":business",
                payable.business_id().map(|b| n(b.get())),
            ),
        ] {
            match value {
                Some(v) => {
                    set.push(clause);
                    vals.push((placeholder, v));
                }
                None => remove.push(attr),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let same_business = match payable.business_id() {
            Some(_) => "business_id = :business",
            None => "attribute_not_exists(business_id)",
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(payable_pk(payable.payable()), PAYABLE_SK)))
            .update_expression(expression)
            // Paid is final; an intent already collecting keeps its amount, payer
            // and business.
            // ... and payments already recorded stay within the total, in its currency.
            // ... and once an intent or payment names the owner, the owner stays.
            .condition_expression(format!(
                "attribute_not_exists(pk) OR (#status <> :paid AND (attribute_not_exists(open_intent_id) \
                 OR (amount_minor = :amount AND currency = :currency AND owner_user_id = :owner \
                 AND {same_business})) \
                 AND (attribute_not_exists(allocated_minor) OR allocated_minor = :zero \
                 OR (currency = :currency AND allocated_minor <= :amount)) \
                 AND (attribute_not_exists(owner_fixed) OR owner_user_id = :owner))"
            ))
            .set_expression_attribute_names(Some(names(&[("#status", "status"), ("#number", "number")])))
            .set_expression_attribute_values(Some(values(vals)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                let created = item
                    .get("version")
                    .and_then(|v| v.as_n().ok())
                    .map(String::as_str)
                    == Some("1");
                Ok(PayableWrite::Written {
                    payable: Box::new(payable_from_item(item)?),
                    created,
                })
            }
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(c) => {
                    let old = payable_from_item(c.item.unwrap_or_default())?;
                    // The same rules as the condition, to say which one refused.
                    match old.check_revision(payable) {
                        Err(RevisionRefused::AlreadyPaid) => Ok(PayableWrite::AlreadyPaid),
                        Err(RevisionRefused::OpenIntent(intent)) => {
                            Ok(PayableWrite::OpenIntentAmountChange(intent))
                        }
                        Err(RevisionRefused::PaymentsRecorded(sum)) => {
                            Ok(PayableWrite::PaymentsRecorded(sum))
                        }
                        Err(RevisionRefused::OwnerFixed) => Ok(PayableWrite::OwnerFixed),
                        Ok(()) => Err(StoreError::Conflict),
                    }
                }
                other => Err(unavailable(other)),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn admit_otp_intent(
        &self,
        payable: &PayableRef,
        intent: &IntentId,
        now: OffsetDateTime,
        policy: &OtpPolicy,
    ) -> Result<bool, StoreError> {
        let key = key(payable_pk(payable), OTP_SENDERS_SK);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(e.into_service_error()))?;
        let stored = out
            .item
            .as_ref()
            .and_then(|i| i.get("senders"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let log = match &stored {
            Some(s) => OtpSenders::decode(s).ok_or_else(|| corrupt("otp senders", s))?,
            None => OtpSenders::default(),
        };
        let Some(next) = log.admit(intent, now, policy) else {
            return Ok(false);
        };
        let mut item = key;
        item.insert("senders".into(), s(next.encode()));
        // Nobody old enough to matter stays in the log, so it expires with its last entry.
        item.insert(
            TTL_ATTRIBUTE.into(),
            n((now + policy.payable_window).unix_timestamp()),
        );
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        // Admissions race: each replaces exactly the log it read, so none is lost.
        put = match stored {
            Some(old) => put
                .condition_expression("senders = :old")
                .expression_attribute_values(":old", s(old)),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        unless_refused(put.send().await)?.ok_or(StoreError::Conflict)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn get_payable(&self, payable: &PayableRef) -> Result<Option<Payable>, StoreError> {
        let item = self
            .get_consistent(key(payable_pk(payable), PAYABLE_SK))
            .await?;
        item.map(payable_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(payable = %payable.payable(), pending = pending.len()), err)]
    async fn complete_payable(
        &self,
        payable: &Payable,
        pending: &[Payment],
        extra: Option<&Payment>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // What the settling announces: each payment completing (a new one
        // created first), then the payable paid, as it was read and now stands.
        let mut events: Vec<Event> = pending
            .iter()
            .filter_map(|p| Event::for_completed_payment(p, now))
            .collect();
        if let Some(extra) = extra {
            events.extend(Event::for_new_payment(extra, now));
        }
        let mut paid = payable.clone();
        paid.mark_paid(now);
        events.extend(Event::for_paid_payable(&paid, now));
        if 1 + pending.len() + usize::from(extra.is_some()) + events.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Unavailable(format!(
                "{} pending payments exceed one transaction",
                pending.len()
            )));
        }
        // Exactly the sums that were read: a concurrent payment makes this lose.
        let sum_is = |attr: &str, placeholder: &str, value: i64| {
            if value == 0 {
                format!("(attribute_not_exists({attr}) OR {attr} = {placeholder})")
            } else {
                format!("{attr} = {placeholder}")
            }
        };
        // ... and nothing else wrote it since (every write sets `updated_at`):
        // its event shows it as read.
        let condition = format!(
            "#status = :open AND attribute_not_exists(open_intent_id) AND amount_minor = :total \
             AND updated_at = :read_at AND {} AND {}",
            sum_is("allocated_minor", ":allocated", payable.allocated_minor()),
            sum_is("paid_minor", ":paid_sum", payable.paid_minor()),
        );
        let settle = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(payable_pk(payable.payable()), PAYABLE_SK)))
            // Every pending payment completes in this write: none stays pending.
            .update_expression(
                "SET #status = :paid, paid_at = :now, updated_at = :now, \
                 allocated_minor = amount_minor, paid_minor = amount_minor, pending_payments = :none",
            )
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[("#status", "status")])))
            .set_expression_attribute_values(Some(values(vec![
                (":paid", s(PayableStatus::Paid.as_str())),
                (":open", s(PayableStatus::Open.as_str())),
                (":now", s(ts(now))),
                (":total", n(payable.amount().minor())),
                (":allocated", n(payable.allocated_minor())),
                (":paid_sum", n(payable.paid_minor())),
                (":read_at", s(ts(payable.updated_at()))),
                (":none", n(0)),
            ])));
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(build(settle.build())?)
                .build(),
        );
        for payment in pending {
            let complete = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payment_pk(&payment.id()), PAYMENT_SK)))
                .update_expression(
                    "SET #status = :completed, completed_at = :now, fee_minor = :fee, net_minor = :net",
                )
                .condition_expression("#status = :pending")
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":completed", s(PaymentStatus::Completed.as_str())),
                    (":pending", s(PaymentStatus::Pending.as_str())),
                    (":now", s(ts(now))),
                    (":fee", n(payment.fee_minor())),
                    (":net", n(payment.net_minor())),
                ])));
            request = request.transact_items(
                TransactWriteItem::builder()
                    .update(build(complete.build())?)
                    .build(),
            );
        }
        if let Some(extra) = extra {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(payment_to_item(extra)?))
                .condition_expression("attribute_not_exists(pk)");
            request = request.transact_items(
                TransactWriteItem::builder()
                    .put(build(put.build())?)
                    .build(),
            );
        }
        for event in self.put_events(&events)? {
            request = request.transact_items(event);
        }
        request.send().await.map_err(transaction_error)?;
        Ok(())
    }
}
