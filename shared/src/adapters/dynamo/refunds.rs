//! Refunds on DynamoDB: each one taken from its payment's refundable money in
//! the same transaction that stores it, and given back in the same
//! transaction that marks it failed. Every write of a refund is built here,
//! so whatever must change with a refund joins these transactions, its
//! events among them.

use aws_sdk_dynamodb::types::builders::{PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::DynamoStore;
use super::codec::{n, names, s, ts, unavailable, values};
use super::items::{
    gateway_refund_from_item, gateway_refund_to_item, refund_from_item, refund_to_item,
};
use super::keys::{
    GATEWAY_REFUND_SK, PAYABLE_SK, PAYMENT_SK, REFUND_PREFIX, REFUND_SK, gateway_refund_pk,
    payable_pk, payment_pk, refund_pk, refunds_of_partition,
};
use super::request::{build, key, transaction_error};
use super::table::BY_PAYABLE;
use crate::domain::{Event, GatewayId, Payment, PaymentId, PaymentStatus, Refund, RefundId};
use crate::ports::{Page, RefundOutcome, RefundStore, StoreError};

fn update(u: UpdateBuilder) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .update(build(u.build())?)
        .build())
}

fn put(p: PutBuilder) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder().put(build(p.build())?).build())
}

impl DynamoStore {
    /// Takes `refund` from `payment` as read. Its amount is added only
    /// while it fits: DynamoDB cannot add in a condition, so the bound is
    /// stated as the most the refunded sum may hold before it. The refund
    /// that reaches the amount makes the payment REFUNDED in the same
    /// write; which one that is, is decided on the refunded sum itself
    /// (exactly the rest, or strictly less), so a race that moved the sum
    /// across makes this write lose and the refund is decided again.
    fn take_from_payment(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<TransactWriteItem, StoreError> {
        let amount = refund.amount.minor();
        let before_limit = payment.amount.minor() - amount;
        let completes = payment.refunded_minor + amount >= payment.amount.minor();
        let mut set =
            "SET refunded_minor = if_not_exists(refunded_minor, :zero) + :amount".to_owned();
        let mut condition =
            "#status = :completed AND amount_minor = :total AND currency = :currency".to_owned();
        let mut vals = vec![
            (":zero", n(0)),
            (":amount", n(amount)),
            (":completed", s(PaymentStatus::Completed.as_str())),
            (":total", n(payment.amount.minor())),
            (":currency", s(payment.amount.currency().code())),
            (":before_limit", n(before_limit)),
        ];
        if completes {
            set.push_str(", #status = :refunded, refunded_at = :now");
            vals.push((":refunded", s(PaymentStatus::Refunded.as_str())));
            vals.push((":now", s(ts(refund.created))));
            condition.push_str(if before_limit == 0 {
                " AND (attribute_not_exists(refunded_minor) OR refunded_minor = :before_limit)"
            } else {
                " AND refunded_minor = :before_limit"
            });
        } else {
            condition.push_str(
                " AND (attribute_not_exists(refunded_minor) OR refunded_minor < :before_limit)",
            );
        }
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payment_pk(&payment.id), PAYMENT_SK)))
                .update_expression(set)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vals))),
        )
    }

    /// A failed refund's amount back to its payment, which (if it was
    /// REFUNDED) is COMPLETED again: less than its amount is refunded now.
    fn give_back_to_payment(&self, refund: &Refund) -> Result<TransactWriteItem, StoreError> {
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payment_pk(&refund.payment_id), PAYMENT_SK)))
                .update_expression(
                    "SET refunded_minor = refunded_minor - :amount, #status = :completed REMOVE refunded_at",
                )
                .condition_expression(
                    "refunded_minor >= :amount AND (#status = :completed OR #status = :refunded)",
                )
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vec![
                    (":amount", n(refund.amount.minor())),
                    (":completed", s(PaymentStatus::Completed.as_str())),
                    (":refunded", s(PaymentStatus::Refunded.as_str())),
                ]))),
        )
    }

    /// The payable's refunded sum moves with its payment's; the payable stays paid.
    fn payable_refunded(
        &self,
        refund: &Refund,
        delta: i64,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let Some(payable) = &refund.payable else {
            return Ok(None);
        };
        let (expression, condition) = if delta >= 0 {
            (
                "SET refunded_minor = if_not_exists(refunded_minor, :zero) + :delta",
                "attribute_exists(pk)",
            )
        } else {
            (
                "SET refunded_minor = refunded_minor + :delta",
                "refunded_minor >= :back",
            )
        };
        let mut vals = vec![(":delta", n(delta))];
        if delta >= 0 {
            vals.push((":zero", n(0)));
        } else {
            vals.push((":back", n(-delta)));
        }
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payable_pk(payable), PAYABLE_SK)))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_values(Some(values(vals))),
        )
        .map(Some)
    }

    /// The lookup item from the gateway's id to `refund`: one gateway id
    /// names one refund, and writing it again for that refund changes nothing.
    fn name_at_gateway(&self, refund: &Refund) -> Result<Option<TransactWriteItem>, StoreError> {
        let Some(item) = gateway_refund_to_item(refund)? else {
            return Ok(None);
        };
        put(Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR refund_id = :id")
            .set_expression_attribute_values(Some(values(vec![(":id", s(refund.id.to_string()))]))))
        .map(Some)
    }
}

#[async_trait::async_trait]
impl RefundStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(refund = %id), err)]
    async fn get_refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(refund_pk(id), REFUND_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(refund_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(refund = %refund.id, payment = %payment.id), err)]
    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundOutcome, StoreError> {
        // More than the whole payment never fits; the condition only sees a
        // refunded sum once a first refund has created it.
        if refund.amount.minor() > payment.amount.minor() || refund.payment_id != payment.id {
            return Ok(RefundOutcome::PaymentChanged);
        }
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(self.take_from_payment(refund, payment)?)
            .transact_items(put(Put::builder()
                .table_name(&self.table)
                .set_item(Some(refund_to_item(refund)?))
                .condition_expression("attribute_not_exists(pk)"))?);
        if let Some(payable) = self.payable_refunded(refund, refund.amount.minor())? {
            request = request.transact_items(payable);
        }
        if let Some(lookup) = self.name_at_gateway(refund)? {
            request = request.transact_items(lookup);
        }
        for event in self.put_events(&Event::for_refund_change(None, refund, refund.created))? {
            request = request.transact_items(event);
        }
        match request.send().await.map_err(transaction_error) {
            Ok(_) => Ok(RefundOutcome::Created),
            // Either the payment moved or this very refund exists (an earlier
            // run under the same Idempotency-Key made it): only reading it tells.
            Err(StoreError::Conflict) => match self.get_refund(&refund.id).await? {
                Some(_) => Ok(RefundOutcome::AlreadyExists),
                None => Ok(RefundOutcome::PaymentChanged),
            },
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(refund = %after.id, status = after.status.as_str()), err)]
    async fn update_refund(&self, before: &Refund, after: &Refund) -> Result<(), StoreError> {
        let mut set = vec!["#status = :status", "updated_at = :now"];
        let mut vals = vec![
            (":status", s(after.status.as_str())),
            (":before", s(before.status.as_str())),
            (":now", s(ts(after.updated))),
        ];
        let mut condition = "#status = :before".to_owned();
        let named_now = before.gateway_refund_id.is_none() && after.gateway_refund_id.is_some();
        if let (true, Some(gateway_refund_id)) = (named_now, &after.gateway_refund_id) {
            set.push("gateway_refund_id = :gateway_refund_id");
            vals.push((":gateway_refund_id", s(gateway_refund_id.clone())));
            // Named once: a concurrent write naming it otherwise loses.
            condition.push_str(" AND attribute_not_exists(gateway_refund_id)");
        }
        let mut request = self.client.transact_write_items().transact_items(update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(refund_pk(&after.id), REFUND_SK)))
                .update_expression(format!("SET {}", set.join(", ")))
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vals))),
        )?);
        if named_now {
            if let Some(lookup) = self.name_at_gateway(after)? {
                request = request.transact_items(lookup);
            }
        }
        if after.gives_back(before) {
            request = request.transact_items(self.give_back_to_payment(after)?);
            if let Some(payable) = self.payable_refunded(after, -after.amount.minor())? {
                request = request.transact_items(payable);
            }
        }
        let stored = after.as_stored_over(before);
        for event in self.put_events(&Event::for_refund_change(
            Some(before),
            &stored,
            after.updated,
        ))? {
            request = request.transact_items(event);
        }
        request.send().await.map_err(transaction_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn find_refund_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_refund_id: &str,
    ) -> Result<Option<Refund>, StoreError> {
        // Consistent: a webhook may follow the refund's own write at once.
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                gateway_refund_pk(gateway, gateway_refund_id),
                GATEWAY_REFUND_SK,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item {
            Some(item) => self.get_refund(&gateway_refund_from_item(item)?).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, fields(payment = %payment), err)]
    async fn list_refunds(
        &self,
        payment: &PaymentId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Refund>, StoreError> {
        let page = self
            .query_newest_first(
                BY_PAYABLE,
                refunds_of_partition(payment),
                REFUND_PREFIX,
                None,
                limit,
                cursor,
            )
            .await?;
        page.try_map(refund_from_item)
    }
}
