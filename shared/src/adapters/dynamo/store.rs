//! `Store` on DynamoDB: conditional writes on status and version, and one
//! transaction for every invariant that spans items.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use time::OffsetDateTime;

use super::DynamoStore;
use super::codec::{Item, corrupt, n, names, s, ts, unavailable, values};
use super::cursor;
use super::items::{
    INTENT_PREFIX, INTENT_SK, LineItemItem, PAYABLE_SK, PAYMENT_PREFIX, PAYMENT_SK,
    intent_from_item, intent_pk, intent_to_item, payable_from_item, payable_pk, payment_from_item,
    payment_pk, payment_to_item, user_partition,
};
use super::table::{BY_PAYABLE, BY_USER, Index, PK, SK};
use crate::domain::{
    IntentId, IntentStatus, Payable, PayableRef, PayableStatus, Payment, PaymentId, PaymentIntent,
    PaymentStatus, UserId,
};
use crate::ports::store::{OpenOutcome, PayableWrite, RecordOutcome};
use crate::ports::{Expected, Page, Store, StoreError};

/// DynamoDB's limit on the items of one TransactWriteItems.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// Most pages a filtered list reads before answering with what it has.
const MAX_PAGES_PER_LIST: usize = 10;

fn key(pk: String, sk: &str) -> Item {
    [(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))]
        .into_iter()
        .collect()
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Unavailable(format!("request: {e}")))
}

/// Cancelled transactions whose reasons are only lost conditions or conflicts are
/// ordinary concurrency, not failures.
fn transaction_error(e: SdkError<TransactWriteItemsError>) -> StoreError {
    match e.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            let benign = c.cancellation_reasons().iter().all(|r| {
                matches!(
                    r.code(),
                    None | Some("None" | "ConditionalCheckFailed" | "TransactionConflict")
                )
            });
            if benign {
                StoreError::Conflict
            } else {
                unavailable(c)
            }
        }
        TransactWriteItemsError::TransactionInProgressException(_) => StoreError::Conflict,
        other => unavailable(other),
    }
}

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

    async fn query_newest_first(
        &self,
        index: Index,
        partition: String,
        prefix: &str,
        status: Option<IntentStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Item>, StoreError> {
        let mut start = cursor
            .map(|c| cursor::decode(c, index.pk, &partition))
            .transpose()?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES_PER_LIST {
            let mut attr_names = names(&[("#pk", index.pk), ("#sk", index.sk)]);
            let mut attr_values =
                values(vec![(":pk", s(partition.clone())), (":prefix", s(prefix))]);
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index.name)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .scan_index_forward(false)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if let Some(status) = status {
                attr_names.insert("#status".into(), "status".into());
                attr_values.insert(":status".into(), s(status.as_str()));
                query = query.filter_expression("#status = :status");
            }
            let out = query
                .set_expression_attribute_names(Some(attr_names))
                .set_expression_attribute_values(Some(attr_values))
                .send()
                .await
                .map_err(|e| {
                    let e = e.into_service_error();
                    // A forged start key that passed decoding is still refused here.
                    if cursor.is_some() && e.meta().code() == Some("ValidationException") {
                        StoreError::BadCursor
                    } else {
                        unavailable(e)
                    }
                })?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if items.len() >= limit || start.is_none() {
                break;
            }
        }
        let next = start.as_ref().and_then(cursor::encode);
        Ok(Page { items, next })
    }
}

fn intents(page: Page<Item>) -> Result<Page<PaymentIntent>, StoreError> {
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(intent_from_item)
            .collect::<Result<_, _>>()?,
        next: page.next,
    })
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    #[tracing::instrument(skip_all, fields(payable = %payable.payable), err)]
    async fn upsert_payable(
        &self,
        payable: &Payable,
        now: OffsetDateTime,
    ) -> Result<PayableWrite, StoreError> {
        let line_items: Vec<LineItemItem> =
            payable.line_items.iter().map(LineItemItem::from).collect();
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
            (":kind", s(payable.payable.kind.as_str())),
            (":id", s(payable.payable.id.as_str())),
            (":owner", s(payable.owner.user_id.as_str())),
            (":email", s(payable.owner.email.as_str())),
            (":amount", n(payable.amount.minor())),
            (":currency", s(payable.amount.currency().code())),
            (":line_items", line_items),
            (":now", s(ts(now))),
            (":open", s(PayableStatus::Open.as_str())),
            (":paid", s(PayableStatus::Paid.as_str())),
            (":zero", n(0)),
            (":one", n(1)),
        ];
        // Optional fields absent from the request are removed, as a PUT replaces.
        for (attr, clause, placeholder, value) in [
            ("#number", "#number = :number", ":number", &payable.number),
            (
                "description",
                "description = :description",
                ":description",
                &payable.description,
            ),
            (
                "business_id",
                "business_id = :business",
                ":business",
                &payable.business_id,
            ),
        ] {
            match value {
                Some(v) => {
                    set.push(clause);
                    vals.push((placeholder, s(v.clone())));
                }
                None => remove.push(attr),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(payable_pk(&payable.payable), PAYABLE_SK)))
            .update_expression(expression)
            // Paid is final; an intent already collecting keeps its amount and payer.
            // ... and payments already recorded stay within the total, in its currency.
            .condition_expression(
                "attribute_not_exists(pk) OR (#status <> :paid AND (attribute_not_exists(open_intent_id) \
                 OR (amount_minor = :amount AND currency = :currency AND owner_user_id = :owner)) \
                 AND (attribute_not_exists(allocated_minor) OR allocated_minor = :zero \
                 OR (currency = :currency AND allocated_minor <= :amount)))",
            )
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
                    match (old.status, old.open_intent_id) {
                        (PayableStatus::Paid, _) => Ok(PayableWrite::AlreadyPaid),
                        (_, Some(intent)) => Ok(PayableWrite::OpenIntentAmountChange(intent)),
                        _ if old.allocated_minor > 0 => {
                            Ok(PayableWrite::PaymentsRecorded(old.allocated_minor))
                        }
                        _ => Err(StoreError::Conflict),
                    }
                }
                other => Err(unavailable(other)),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn get_payable(&self, payable: &PayableRef) -> Result<Option<Payable>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(payable_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(intent = %intent.id), err)]
    async fn open_intent(&self, intent: &PaymentIntent) -> Result<OpenOutcome, StoreError> {
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(intent_to_item(intent, 1)?))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let Some(payable) = &intent.payable else {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map_err(|e| match e.into_service_error() {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_) => {
                        StoreError::Conflict
                    }
                    other => unavailable(other),
                })?;
            return Ok(OpenOutcome::Created);
        };
        // The payable's open_intent_id is the lock that keeps one open intent per payable.
        let claim = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
                .update_expression("SET open_intent_id = :intent, updated_at = :now")
                .condition_expression(
                    "attribute_exists(pk) AND #status = :open AND attribute_not_exists(open_intent_id) \
                     AND amount_minor = :amount AND currency = :currency AND owner_user_id = :owner \
                     AND (attribute_not_exists(allocated_minor) OR allocated_minor = :zero)",
                )
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":intent", s(intent.id.to_string())),
                    (":now", s(ts(intent.created_at))),
                    (":open", s(PayableStatus::Open.as_str())),
                    (":amount", n(intent.amount.minor())),
                    (":currency", s(intent.amount.currency().code())),
                    (":owner", s(intent.payer.user_id.as_str())),
                    (":zero", n(0)),
                ])))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(claim).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(OpenOutcome::Created),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let old = c
                        .cancellation_reasons()
                        .first()
                        .and_then(|r| r.item.clone());
                    if let Some(old) = old {
                        let old = payable_from_item(old)?;
                        return Ok(match old.open_intent_id {
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
        }
    }

    #[tracing::instrument(skip_all, fields(intent = %id), err)]
    async fn get_intent(&self, id: &IntentId) -> Result<Option<PaymentIntent>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(intent_pk(id), INTENT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(intent_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(intent = %intent.id, to = %intent.status), err)]
    async fn save_intent(
        &self,
        intent: &PaymentIntent,
        expected: Expected,
    ) -> Result<(), StoreError> {
        let put = self.put_intent_conditional(intent, expected)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_) => {
                    StoreError::Conflict
                }
                other => unavailable(other),
            })?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(intent = %intent.id, to = %intent.status), err)]
    async fn finish_intent(
        &self,
        intent: &PaymentIntent,
        expected: Expected,
        payment: Option<&Payment>,
    ) -> Result<(), StoreError> {
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .put(self.put_intent_conditional(intent, expected)?)
                .build(),
        );
        if let Some(payable) = &intent.payable {
            // Only the intent holding the payable may free it, or mark it paid.
            let (update, mut vals) = match payment {
                Some(_) => (
                    "SET #status = :paid, paid_at = :now, updated_at = :now, \
                     allocated_minor = amount_minor, paid_minor = amount_minor REMOVE open_intent_id",
                    vec![(":paid", s(PayableStatus::Paid.as_str()))],
                ),
                None => ("SET updated_at = :now REMOVE open_intent_id", vec![]),
            };
            vals.push((":intent", s(intent.id.to_string())));
            vals.push((":now", s(ts(intent.updated_at))));
            let mut release = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
                .update_expression(update)
                .condition_expression("open_intent_id = :intent")
                .set_expression_attribute_values(Some(values(vals)));
            if payment.is_some() {
                release =
                    release.set_expression_attribute_names(Some(names(&[("#status", "status")])));
            }
            request = request.transact_items(
                TransactWriteItem::builder()
                    .update(build(release.build())?)
                    .build(),
            );
        }
        if let Some(payment) = payment {
            let put = build(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(payment_to_item(payment)?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build(),
            )?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        request.send().await.map_err(transaction_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(intent = %id), err)]
    async fn count_wrong_otp(
        &self,
        id: &IntentId,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        // An atomic increment bounded by the limit, not a version check: concurrent
        // wrong guesses then all count, exactly, without retries.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(intent_pk(id), INTENT_SK)))
            .update_expression("SET otp_attempts = otp_attempts + :one, version = version + :one, updated_at = :now")
            .condition_expression("#status = :awaiting AND otp_attempts < :limit")
            .set_expression_attribute_names(Some(names(&[("#status", "status")])))
            .set_expression_attribute_values(Some(values(vec![
                (":one", n(1)),
                (":now", s(ts(now))),
                (":awaiting", s(IntentStatus::RequiresAction.as_str())),
                (":limit", n(limit)),
            ])))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let attempts = out
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get("otp_attempts"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| corrupt("otp_attempts", "missing after update"))?;
                Ok(Some(attempts))
            }
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(None),
                other => Err(unavailable(other)),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(user = %user), err)]
    async fn list_intents_by_user(
        &self,
        user: &UserId,
        status: Option<IntentStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let page = self
            .query_newest_first(
                BY_USER,
                user_partition(user),
                INTENT_PREFIX,
                status,
                limit,
                cursor,
            )
            .await?;
        intents(page)
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn list_intents_by_payable(
        &self,
        payable: &PayableRef,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let page = self
            .query_newest_first(
                BY_PAYABLE,
                payable_pk(payable),
                INTENT_PREFIX,
                None,
                limit,
                cursor,
            )
            .await?;
        intents(page)
    }

    #[tracing::instrument(skip_all, fields(payment = %id), err)]
    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(payment_pk(id), PAYMENT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(payment_from_item).transpose()
    }
    #[tracing::instrument(skip_all, fields(payment = %payment.id), err)]
    async fn record_payment(
        &self,
        payment: &Payment,
        payable: &Payable,
    ) -> Result<RecordOutcome, StoreError> {
        let key = key(payable_pk(&payable.payable), PAYABLE_SK);
        let guard = if payment.counts_toward_total() {
            let amount = payment.amount.minor();
            let mut set = "SET allocated_minor = if_not_exists(allocated_minor, :zero) + :amount, updated_at = :now".to_owned();
            if payment.status == PaymentStatus::Completed {
                set.push_str(", paid_minor = if_not_exists(paid_minor, :zero) + :amount");
            }
            // The sum stays within the total even when payments race: each one is
            // an increment that is only applied while it still fits.
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression(set)
                .condition_expression(
                    "#status = :open AND currency = :currency AND amount_minor = :total \
                     AND attribute_not_exists(open_intent_id) \
                     AND (attribute_not_exists(allocated_minor) OR allocated_minor <= :limit)",
                )
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":zero", n(0)),
                    (":amount", n(amount)),
                    (":now", s(ts(payment.created_at))),
                    (":open", s(PayableStatus::Open.as_str())),
                    (":currency", s(payable.amount.currency().code())),
                    (":total", n(payable.amount.minor())),
                    (":limit", n(payable.amount.minor() - amount)),
                ])));
            TransactWriteItem::builder()
                .update(build(update.build())?)
                .build()
        } else {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(pk)");
            TransactWriteItem::builder()
                .condition_check(build(check.build())?)
                .build()
        };
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(payment_to_item(payment)?))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(guard)
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result.map_err(transaction_error) {
            Ok(_) => Ok(RecordOutcome::Recorded),
            Err(StoreError::Conflict) => Ok(RecordOutcome::PayableChanged),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn settle_if_covered(
        &self,
        payable: &PayableRef,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
            .update_expression("SET #status = :paid, paid_at = :now, updated_at = :now")
            .condition_expression("#status = :open AND paid_minor >= amount_minor")
            .set_expression_attribute_names(Some(names(&[("#status", "status")])))
            .set_expression_attribute_values(Some(values(vec![
                (":paid", s(PayableStatus::Paid.as_str())),
                (":open", s(PayableStatus::Open.as_str())),
                (":now", s(ts(now))),
            ])))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(unavailable(other)),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(payable = %payable.payable, pending = pending.len()), err)]
    async fn complete_payable(
        &self,
        payable: &Payable,
        pending: &[Payment],
        extra: Option<&Payment>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if pending.len() + 2 > MAX_TRANSACTION_ITEMS {
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
        let condition = format!(
            "#status = :open AND attribute_not_exists(open_intent_id) AND amount_minor = :total AND {} AND {}",
            sum_is("allocated_minor", ":allocated", payable.allocated_minor),
            sum_is("paid_minor", ":paid_sum", payable.paid_minor),
        );
        let settle = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(payable_pk(&payable.payable), PAYABLE_SK)))
            .update_expression(
                "SET #status = :paid, paid_at = :now, updated_at = :now, \
                 allocated_minor = amount_minor, paid_minor = amount_minor",
            )
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[("#status", "status")])))
            .set_expression_attribute_values(Some(values(vec![
                (":paid", s(PayableStatus::Paid.as_str())),
                (":open", s(PayableStatus::Open.as_str())),
                (":now", s(ts(now))),
                (":total", n(payable.amount.minor())),
                (":allocated", n(payable.allocated_minor)),
                (":paid_sum", n(payable.paid_minor)),
            ])));
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(build(settle.build())?)
                .build(),
        );
        for payment in pending {
            let complete = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payment_pk(&payment.id), PAYMENT_SK)))
                .update_expression("SET #status = :completed, completed_at = :now")
                .condition_expression("#status = :pending")
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":completed", s(PaymentStatus::Completed.as_str())),
                    (":pending", s(PaymentStatus::Pending.as_str())),
                    (":now", s(ts(now))),
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
        request.send().await.map_err(transaction_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user = %user), err)]
    async fn list_payments_by_user(
        &self,
        user: &UserId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let wanted = offset + limit;
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        // Offsets walk the index; the surface bounds them so this stays a few pages.
        loop {
            let page = self
                .query_newest_first(
                    BY_USER,
                    user_partition(user),
                    PAYMENT_PREFIX,
                    None,
                    wanted - items.len(),
                    cursor.as_deref(),
                )
                .await?;
            items.extend(page.items);
            cursor = page.next;
            if items.len() >= wanted || cursor.is_none() {
                break;
            }
        }
        items
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(payment_from_item)
            .collect()
    }

    #[tracing::instrument(skip_all, fields(payable = %payable), err)]
    async fn list_payments_by_payable(
        &self,
        payable: &PayableRef,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Payment>, StoreError> {
        let page = self
            .query_newest_first(
                BY_PAYABLE,
                payable_pk(payable),
                PAYMENT_PREFIX,
                None,
                limit,
                cursor,
            )
            .await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(payment_from_item)
                .collect::<Result<_, _>>()?,
            next: page.next,
        })
    }
}
