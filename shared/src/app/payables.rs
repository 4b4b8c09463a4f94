//! Payables as the operator's backend registers them (the payables API).

use super::AppError;
use crate::app::App;
use crate::domain::{Payable, PayableRef, PayableStatus};
use crate::ports::PayableWrite;

/// Creates or replaces a payable. Status, open intent and creation time are the
/// service's own and survive a replace.
pub async fn upsert(app: &App, payable: Payable) -> Result<(Payable, bool), AppError> {
    Payable::validate_line_items(&payable.amount(), payable.line_items())
        .map_err(AppError::LineItems)?;
    let now = app.clock.now();
    match app.payables.upsert_payable(&payable, now).await? {
        PayableWrite::Written { payable, created } => Ok((*payable, created)),
        PayableWrite::AlreadyPaid => Err(AppError::PayableLocked(format!(
            "{} is {} and cannot be changed",
            payable.payable(),
            PayableStatus::Paid.as_str()
        ))),
        PayableWrite::PaymentsRecorded(allocated) => Err(AppError::PayableLocked(format!(
            "{} already has payments of {allocated} minor units recorded; its total cannot drop below them or change currency",
            payable.payable()
        ))),
        PayableWrite::OwnerFixed => Err(AppError::PayableLocked(format!(
            "{} already has payment intents or payments; its owner cannot change",
            payable.payable()
        ))),
        PayableWrite::OpenIntentAmountChange(intent) => Err(AppError::PayableLocked(format!(
            "{} has an open payment intent ({intent}); its amount, currency, owner and business_id cannot change until it ends",
            payable.payable()
        ))),
    }
}

pub async fn get(app: &App, payable: &PayableRef) -> Result<Payable, AppError> {
    app.payables
        .get_payable(payable)
        .await?
        .ok_or_else(|| AppError::NotFound("Payable".into()))
}
