//! Refunds on DynamoDB: each one taken from its payment's refundable money in
//! the same transaction that stores it, and given back in the same
//! transaction that marks it failed. Every write of a refund is built here,
//! so whatever must change with a refund joins these transactions, its
//! events among them.

use aws_sdk_dynamodb::types::builders::{PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::DynamoStore;
use super::codec::{n, names, s, ts, unavailable, values};
use super::items::{
    gateway_refund_from_item, gateway_refund_to_item, refund_from_item, refund_to_item,
};
use super::keys::{
    GATEWAY_REFUND_SK, PAYABLE_SK, PAYMENT_SK, REFUND_PREFIX, REFUND_SK, UNSENT_REFUNDS,
    gateway_refund_pk, payable_pk, payment_pk, refund_pk, refunds_of_partition,
};
use super::request::{build, key, transaction_error};
use super::table::{ALL_INTENTS, BY_PAYABLE, Index};

/// Refunds still to be asked of their gateway, oldest first (the generic
/// index the all-intents list uses, in a partition of its own).
const UNSENT: Index = ALL_INTENTS;
use crate::domain::{
    Event, GatewayId, Payment, PaymentId, PaymentStatus, Refund, RefundEffect, RefundId,
};
use crate::ports::{Page, PageRequest, RefundOutcome, RefundStore, StoreError};

fn update(u: UpdateBuilder) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .update(build(u.build())?)
        .build())
}

fn put(p: PutBuilder) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder().put(build(p.build())?).build())
}

impl DynamoStore {
    /// A refund change's `effect` on its payment, as read. DynamoDB cannot
    /// add in a condition, so each bound is stated as the most (or least) a
    /// sum may hold before the change:
    /// - what refunds hold grows only while the payment is COMPLETED and it
    ///   stays within the amount;
    /// - the refunded sum that grows marks the payment REFUNDED when it
    ///   reaches the amount. Which change does that is decided on the sum
    ///   itself (exactly the rest, or strictly less), so a race that moved
    ///   it across makes this write lose and the change is decided again;
    /// - a sum that shrinks (a failed refund) never goes below zero, and the
    ///   payment is COMPLETED again.
    fn payment_sums(
        &self,
        refund: &Refund,
        effect: RefundEffect,
        payment: &Payment,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        if effect.is_none() {
            return Ok(None);
        }
        let total = payment.amount().minor();
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut conditions = vec!["amount_minor = :total AND currency = :currency".to_owned()];
        let mut vals = vec![
            (":zero", n(0)),
            (":total", n(total)),
            (":currency", s(payment.amount().currency().code())),
            (":completed", s(PaymentStatus::Completed.as_str())),
        ];
        // A payment stored before pending refunds were told apart from
        // succeeded ones has no held sum: its refunded sum held it all.
        vals.push((":held_before", n(payment.refund_held_minor())));
        match effect.held {
            0 => {}
            held if held > 0 => {
                set.push(
                    "refund_held_minor = if_not_exists(refund_held_minor, :held_before) + :held_delta",
                );
                conditions.push("#status = :completed".to_owned());
                conditions.push(
                    "(refund_held_minor <= :held_limit OR (attribute_not_exists(refund_held_minor) \
                     AND (attribute_not_exists(refunded_minor) OR refunded_minor <= :held_limit)))"
                        .to_owned(),
                );
                vals.push((":held_delta", n(held)));
                vals.push((":held_limit", n(total - held)));
            }
            held => {
                set.push(
                    "refund_held_minor = if_not_exists(refund_held_minor, :held_before) - :freed",
                );
                conditions.push(
                    "(refund_held_minor >= :freed OR (attribute_not_exists(refund_held_minor) \
                     AND refunded_minor >= :freed))"
                        .to_owned(),
                );
                vals.push((":freed", n(-held)));
            }
        }
        match effect.refunded {
            0 => {}
            refunded if refunded > 0 => {
                let before_limit = total - refunded;
                set.push("refunded_minor = if_not_exists(refunded_minor, :zero) + :refunded_delta");
                vals.push((":refunded_delta", n(refunded)));
                vals.push((":before_limit", n(before_limit)));
                if effect.held <= 0 {
                    conditions.push("#status = :completed".to_owned());
                }
                if payment.completed_by(effect) {
                    set.push("#status = :refunded_status, refunded_at = :now");
                    vals.push((":refunded_status", s(PaymentStatus::Refunded.as_str())));
                    vals.push((":now", s(ts(refund.updated()))));
                    conditions.push(if before_limit == 0 {
                        "(attribute_not_exists(refunded_minor) OR refunded_minor = :before_limit)"
                            .to_owned()
                    } else {
                        "refunded_minor = :before_limit".to_owned()
                    });
                } else {
                    conditions.push(
                        "(attribute_not_exists(refunded_minor) OR refunded_minor < :before_limit)"
                            .to_owned(),
                    );
                }
            }
            refunded => {
                set.push("refunded_minor = refunded_minor - :given_back, #status = :completed");
                remove.push("refunded_at");
                conditions.push("refunded_minor >= :given_back".to_owned());
                conditions.push("(#status = :completed OR #status = :refunded_status)".to_owned());
                vals.push((":given_back", n(-refunded)));
                vals.push((":refunded_status", s(PaymentStatus::Refunded.as_str())));
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        // DynamoDB refuses values an expression does not use (no name here
        // is a prefix of another).
        let used =
            |name: &str| expression.contains(name) || conditions.iter().any(|c| c.contains(name));
        let vals: Vec<_> = vals.into_iter().filter(|(name, _)| used(name)).collect();
        let status = used("#status").then(|| names(&[("#status", "status")]));
        update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(payment_pk(&refund.payment_id()), PAYMENT_SK)))
                .update_expression(expression)
                .condition_expression(conditions.join(" AND "))
                .set_expression_attribute_names(status)
                .set_expression_attribute_values(Some(values(vals))),
        )
        .map(Some)
    }

    /// The payable's refunded sum moves with its payment's (succeeded
    /// refunds only); the payable stays paid.
    fn payable_refunded(
        &self,
        refund: &Refund,
        delta: i64,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let Some(payable) = &refund.payable() else {
            return Ok(None);
        };
        if delta == 0 {
            return Ok(None);
        }
        let (expression, condition) = if delta > 0 {
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
        if delta > 0 {
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
            .set_expression_attribute_values(Some(values(vec![(
                ":id",
                s(refund.id().to_string()),
            )]))))
        .map(Some)
    }
}

#[async_trait::async_trait]
impl RefundStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(refund = %id), err)]
    async fn get_refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        let item = self.get_consistent(key(refund_pk(id), REFUND_SK)).await?;
        item.map(refund_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(refund = %refund.id(), payment = %payment.id()), err)]
    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundOutcome, StoreError> {
        // More than the whole payment never fits; the condition only sees a
        // refunded sum once a first refund has created it.
        if refund.amount().minor() > payment.amount().minor() || refund.payment_id() != payment.id()
        {
            return Ok(RefundOutcome::PaymentChanged);
        }
        let effect = refund.effect(None);
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(put(Put::builder()
                .table_name(&self.table)
                .set_item(Some(refund_to_item(refund)?))
                .condition_expression("attribute_not_exists(pk)"))?);
        if let Some(sums) = self.payment_sums(refund, effect, payment)? {
            request = request.transact_items(sums);
        }
        if let Some(payable) = self.payable_refunded(refund, effect.refunded)? {
            request = request.transact_items(payable);
        }
        if let Some(lookup) = self.name_at_gateway(refund)? {
            request = request.transact_items(lookup);
        }
        for event in self.put_events(&Event::for_refund_change(None, refund, refund.created()))? {
            request = request.transact_items(event);
        }
        match request.send().await.map_err(transaction_error) {
            Ok(_) => Ok(RefundOutcome::Created),
            // Either the payment moved or this very refund exists (an earlier
            // run under the same Idempotency-Key made it): only reading it tells.
            Err(StoreError::Conflict) => match self.get_refund(&refund.id()).await? {
                Some(_) => Ok(RefundOutcome::AlreadyExists),
                None => Ok(RefundOutcome::PaymentChanged),
            },
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(refund = %after.id(), status = after.status().as_str()), err)]
    async fn update_refund(
        &self,
        before: &Refund,
        after: &Refund,
        payment: &Payment,
    ) -> Result<(), StoreError> {
        if after.payment_id() != payment.id() {
            return Err(StoreError::Conflict);
        }
        let mut set = vec!["#status = :status", "updated_at = :now"];
        let mut vals = vec![
            (":status", s(after.status().as_str())),
            (":before", s(before.status().as_str())),
            (":now", s(ts(after.updated()))),
        ];
        let mut condition = "#status = :before".to_owned();
        let named_now = before.gateway_refund_id().is_none() && after.gateway_refund_id().is_some();
        if let (true, Some(gateway_refund_id)) = (named_now, &after.gateway_refund_id()) {
            set.push("gateway_refund_id = :gateway_refund_id");
            vals.push((":gateway_refund_id", s(gateway_refund_id.clone())));
            // Named once: a concurrent write naming it otherwise loses.
            condition.push_str(" AND attribute_not_exists(gateway_refund_id)");
        }
        // Asked of the gateway now, or ended: off the list of unsent ones.
        let remove = if before.is_unsent() && !after.as_stored_over(before).is_unsent() {
            " REMOVE gsi3pk, gsi3sk"
        } else {
            ""
        };
        let mut request = self.client.transact_write_items().transact_items(update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(refund_pk(&after.id()), REFUND_SK)))
                .update_expression(format!("SET {}{remove}", set.join(", ")))
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vals))),
        )?);
        if named_now {
            if let Some(lookup) = self.name_at_gateway(after)? {
                request = request.transact_items(lookup);
            }
        }
        let stored = after.as_stored_over(before);
        let effect = stored.effect(Some(before));
        if let Some(sums) = self.payment_sums(&stored, effect, payment)? {
            request = request.transact_items(sums);
        }
        if let Some(payable) = self.payable_refunded(&stored, effect.refunded)? {
            request = request.transact_items(payable);
        }
        for event in self.put_events(&Event::for_refund_change(
            Some(before),
            &stored,
            after.updated(),
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
        let item = self
            .get_consistent(key(
                gateway_refund_pk(gateway, gateway_refund_id),
                GATEWAY_REFUND_SK,
            ))
            .await?;
        match item {
            Some(item) => self.get_refund(&gateway_refund_from_item(item)?).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn unsent_refunds(
        &self,
        made_before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let bound = format!(
            "{REFUND_PREFIX}{:020}",
            made_before.unix_timestamp_nanos().max(0)
        );
        let out = self
            .query()
            .index_name(UNSENT.name)
            .key_condition_expression("#pk = :pk AND #sk < :bound")
            .set_expression_attribute_names(Some(names(&[("#pk", UNSENT.pk), ("#sk", UNSENT.sk)])))
            .set_expression_attribute_values(Some(values(vec![
                (":pk", s(UNSENT_REFUNDS)),
                (":bound", s(bound)),
            ])))
            .scan_index_forward(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(refund_from_item)
            .collect()
    }

    #[tracing::instrument(skip_all, fields(payment = %payment), err)]
    async fn list_refunds(
        &self,
        payment: &PaymentId,
        request: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        let page = self
            .query_newest_first(
                BY_PAYABLE,
                refunds_of_partition(payment),
                REFUND_PREFIX,
                None,
                request,
            )
            .await?;
        page.try_map(refund_from_item)
    }
}
