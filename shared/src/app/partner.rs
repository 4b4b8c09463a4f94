//! Partners read the payments of their own business, with what each one
//! settles to the business.

use super::AppError;
use crate::app::App;
use crate::auth::PartnerCaller;
use crate::domain::{BusinessId, Payable, Payment, PaymentId};
use crate::ports::PageRequest;

const PAYMENT: &str = "Payment";
/// Payments read per page when summing a payable's account.
const PAGE: usize = 100;

/// A payment as a partner sees it: with its payable and every payment of
/// that payable made for the partner's business, which together make the
/// account it settles into.
#[derive(Debug, Clone)]
pub struct PaymentDetail {
    /// The partner's business, which the payment was made for.
    pub business_id: BusinessId,
    pub payment: Payment,
    pub payable: Payable,
    /// Every payment of the payable made for the same business, this one included.
    pub account_payments: Vec<Payment>,
}

/// Whether `payment` was made for `business`. A payment belongs to the
/// business its payable had when the payment was made, stored with it: a
/// payable handed to another business later does not take its past payments
/// along. One stored with no business was made while its payable had none
/// (every payment has carried its payable's business since payments were
/// first stored), so it is no partner's, even once the payable gains one.
fn made_for(payment: &Payment, business: BusinessId) -> bool {
    payment.business_id() == Some(business)
}

/// What a partner is told of a payment not made for their business, or of none.
pub fn not_found() -> AppError {
    AppError::NotFound(PAYMENT.into())
}

/// The payment `id` if it was made for the partner's business; any other
/// payment (another business's, or one of no business) answers 404.
pub async fn payment_detail(
    app: &App,
    partner: &PartnerCaller,
    id: &PaymentId,
) -> Result<PaymentDetail, AppError> {
    let payment = app
        .payments
        .get_payment(id)
        .await?
        .filter(|p| made_for(p, partner.business_id))
        .ok_or_else(not_found)?;
    let payable_ref = payment.payable().clone().ok_or_else(not_found)?;
    let payable = app
        .payables
        .get_payable(&payable_ref)
        .await?
        .ok_or_else(not_found)?;
    let mut account_payments = Vec::new();
    let mut request = PageRequest::first(PAGE);
    loop {
        let page = app
            .payments
            .list_payments_by_payable(&payable_ref, &request)
            .await?;
        // Payments made for another business (before or after the payable
        // changed hands) are that business's, not part of this account.
        account_payments.extend(
            page.items
                .into_iter()
                .filter(|p| made_for(p, partner.business_id)),
        );
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    // The by-payable index lags its table: the payment just read counts as it is now.
    account_payments.retain(|p| p.id() != payment.id());
    account_payments.push(payment.clone());
    Ok(PaymentDetail {
        business_id: partner.business_id,
        payment,
        payable,
        account_payments,
    })
}
