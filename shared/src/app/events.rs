//! The events API's use case: what changed, newest first, as the writes
//! recorded it beside each change.

use super::AppError;
use crate::app::App;
use crate::domain::Event;
use crate::ports::{EventFilter, Page};

/// Unexpired events matching `filter`, newest first.
pub async fn list(
    app: &App,
    filter: &EventFilter,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Event>, AppError> {
    Ok(app
        .events
        .list_events(filter, limit, cursor, app.clock.now())
        .await?)
}
