//! Payments on DynamoDB: each one created once, adding itself to its payable's
//! sums (and its events) in the same transaction.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::DynamoStore;
use super::codec::{n, names, s, ts, values};
use super::items::{payment_from_item, payment_to_item};
use super::keys::{PAYABLE_SK, PAYMENT_PREFIX, PAYMENT_SK, payable_pk, payment_pk, user_partition};
use super::request::{build, key};
use super::table::BY_USER;
use crate::domain::{
    Event, MAX_PENDING_PAYMENTS, Payable, PayableRef, PayableStatus, Payment, PaymentId,
    PaymentStatus, UserId,
};
use crate::ports::{Page, PageRequest, PaymentStore, RecordOutcome, StoreError};

#[async_trait::async_trait]
impl PaymentStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(payment = %id), err)]
    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        let item = self.get_consistent(key(payment_pk(id), PAYMENT_SK)).await?;
        item.map(payment_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(payment = %payment.id()), err)]
    async fn record_payment(
        &self,
        payment: &Payment,
        payable: &Payable,
    ) -> Result<RecordOutcome, StoreError> {
        let key = key(payable_pk(payable.payable()), PAYABLE_SK);
        let now = payment.created_at();
        let mut events = Event::for_new_payment(payment, now);
        // The payment belongs to the business its payable had when it was
        // made: only while the payable still names the business it was read with.
        let (same_business, business) = match payable.business_id() {
            Some(b) => ("business_id = :business", Some((":business", n(b.get())))),
            None => ("attribute_not_exists(business_id)", None),
        };
        let guard = if payment.counts_toward_total() {
            let amount = payment.amount().minor();
            // More than the whole total never fits; the condition below only
            // sees a sum once a first payment has created it.
            if amount > payable.amount().minor() {
                return Ok(RecordOutcome::PayableChanged);
            }
            // The payment carries the owner's email: from now on the owner stays.
            let mut set = "SET allocated_minor = if_not_exists(allocated_minor, :zero) + :amount, \
                           owner_fixed = :fixed, updated_at = :now"
                .to_owned();
            // The sum stays within the total even when payments race: each one is
            // an increment that is only applied while it still fits.
            let mut condition = format!(
                "#status = :open AND currency = :currency AND amount_minor = :total \
                 AND attribute_not_exists(open_intent_id) \
                 AND (attribute_not_exists(allocated_minor) OR allocated_minor <= :limit) \
                 AND {same_business}"
            );
            // Pending payments are counted on the payable and capped, so that
            // marking the order paid can always complete them in one write.
            // Racing payments each increment only while the count is below the
            // cap; payables stored before the count existed start from none.
            if payment.status() == PaymentStatus::Pending {
                set.push_str(", pending_payments = if_not_exists(pending_payments, :zero) + :one");
                condition.push_str(
                    " AND (attribute_not_exists(pending_payments) OR pending_payments < :max_pending)",
                );
            }
            let paid_before = payable.amount().minor() - amount;
            let completes = payment.status() == PaymentStatus::Completed
                && payable.paid_minor() + amount >= payable.amount().minor();
            if payment.status() == PaymentStatus::Completed {
                set.push_str(", paid_minor = if_not_exists(paid_minor, :zero) + :amount");
                // The payment that completes the total pays the payable in this
                // same write, so no crash can leave a fully paid order open. Which
                // one completes it is decided on the paid sum itself: exactly the
                // rest of the total, or strictly less. A race that moved the sum
                // across makes this write lose and the payment is read again.
                if completes {
                    set.push_str(", #status = :paid, paid_at = :now");
                    condition.push_str(if paid_before == 0 {
                        " AND (attribute_not_exists(paid_minor) OR paid_minor = :paid_before)"
                    } else {
                        " AND paid_minor = :paid_before"
                    });
                    // Its `payable.paid` event shows the payable as read, paid:
                    // only while nothing wrote it since (every write sets `updated_at`).
                    condition.push_str(" AND updated_at = :read_at");
                    let mut paid = payable.clone();
                    paid.fix_owner();
                    paid.mark_paid(now);
                    events.extend(Event::for_paid_payable(&paid, now));
                } else {
                    condition.push_str(
                        " AND (attribute_not_exists(paid_minor) OR paid_minor < :paid_before)",
                    );
                }
            }
            let mut vals = vec![
                (":zero", n(0)),
                (":amount", n(amount)),
                (":now", s(ts(payment.created_at()))),
                (":open", s(PayableStatus::Open.as_str())),
                (":currency", s(payable.amount().currency().code())),
                (":total", n(payable.amount().minor())),
                (":limit", n(payable.amount().minor() - amount)),
                (":fixed", AttributeValue::Bool(true)),
            ];
            if payment.status() == PaymentStatus::Pending {
                vals.push((":one", n(1)));
                vals.push((":max_pending", n(MAX_PENDING_PAYMENTS)));
            }
            vals.extend(business.clone());
            if payment.status() == PaymentStatus::Completed {
                vals.push((":paid_before", n(paid_before)));
                if completes {
                    vals.push((":paid", s(PayableStatus::Paid.as_str())));
                    vals.push((":read_at", s(ts(payable.updated_at()))));
                }
            }
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression(set)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names(&[("#status", "status")])))
                .set_expression_attribute_values(Some(values(vals)));
            TransactWriteItem::builder()
                .update(build(update.build())?)
                .build()
        } else {
            // A payment outside the sums still names the owner, who stays from now on.
            let mut vals = vec![(":fixed", AttributeValue::Bool(true))];
            vals.extend(business);
            let fix_owner = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("SET owner_fixed = :fixed")
                .condition_expression(format!("attribute_exists(pk) AND {same_business}"))
                .set_expression_attribute_values(Some(values(vals)));
            TransactWriteItem::builder()
                .update(build(fix_owner.build())?)
                .build()
        };
        let put = self.put_new(payment_to_item(payment)?)?;
        // The payment, its payable's sums and their events: all or nothing.
        let mut items = vec![guard, TransactWriteItem::builder().put(put).build()];
        items.extend(self.put_events(&events)?);
        match self.transact(items).await {
            Ok(()) => Ok(RecordOutcome::Recorded),
            // Either the payable moved or this very payment exists: an earlier run
            // under the same Idempotency-Key recorded it, and it must not be
            // recorded twice. Only reading it tells which.
            Err(StoreError::Conflict) => match self.get_payment(&payment.id()).await? {
                Some(_) => Ok(RecordOutcome::AlreadyRecorded),
                None => Ok(RecordOutcome::PayableChanged),
            },
            Err(e) => Err(e),
        }
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
        let mut request = PageRequest::first(wanted);
        // Offsets walk the index; the payments API bounds them so this stays a few pages.
        loop {
            let page = self
                .query_newest_first(
                    BY_USER,
                    user_partition(user),
                    PAYMENT_PREFIX,
                    None,
                    &request,
                )
                .await?;
            items.extend(page.items);
            request = match page.next {
                Some(next) if items.len() < wanted => {
                    PageRequest::after(wanted - items.len(), next)
                }
                _ => break,
            };
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
        request: &PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let page = self.query_payable(payable, PAYMENT_PREFIX, request).await?;
        page.try_map(payment_from_item)
    }
}
