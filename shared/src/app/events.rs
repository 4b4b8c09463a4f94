//! The events API's use case: what changed, newest first, as the writes
//! recorded it beside each change.

use super::AppError;
use crate::app::App;
use crate::domain::Event;
use crate::ports::{EventFilter, Page, PageRequest};

/// Unexpired events matching `filter`, newest first.
pub async fn list(
    app: &App,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<Event>, AppError> {
    Ok(app
        .events
        .list_events(filter, page, app.clock.now())
        .await?)
}
