//! The limiters' counters in the shared DynamoDB table (`domain::ratelimit::AttemptStore`), so
//! every backend instance counts sign-in failures in one place. One item per key
//! (`pk = "ATTEMPT#{key}"`), with a version number: an update reads its keys, decides, and
//! writes them in one transaction that holds only if no key changed since it was read
//! (optimistic concurrency), retried with jitter when another instance got there first.
//! Items carry `expires_at`, the table's time-to-live attribute, so ended windows go away.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};
use domain::ratelimit::{AttemptStore, Decide, Window};
use domain::StoreError;

use crate::table::{internal, key, n, num, Item, Table};

pub struct DynamoAttempts {
    table: Table,
}

impl DynamoAttempts {
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

/// Tries before an update gives up: twenty guesses at one account settle in five rounds (each
/// round one writer wins; once the account is locked the rest read and write nothing).
const TRIES: u32 = 40;

fn item_key(k: &str) -> Item {
    key(format!("ATTEMPT#{k}"), "WINDOW")
}

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("dynamodb: {e}"))
}

/// A short, varying pause before retry `attempt`: instances that collided must not collide
/// again in lockstep.
async fn back_off(attempt: u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let ceiling_ms = 2u64 << attempt.min(5);
    tokio::time::sleep(std::time::Duration::from_millis(
        u64::from(nanos) % ceiling_ms,
    ))
    .await;
}

#[async_trait]
impl AttemptStore for DynamoAttempts {
    async fn update(
        &self,
        keys: &[String],
        expires_at: u64,
        decide: &Decide<'_>,
    ) -> Result<Vec<Option<Window>>, StoreError> {
        for attempt in 0..TRIES {
            let mut before = Vec::with_capacity(keys.len());
            let mut versions = Vec::with_capacity(keys.len());
            for k in keys {
                let item = self.table.get(item_key(k)).await?;
                versions.push(item.as_ref().and_then(|i| n(i, "version")));
                before.push(item.map(|i| {
                    Window {
                        started_at: n(&i, "started_at")
                            .and_then(|v| u64::try_from(v).ok())
                            .unwrap_or(0),
                        failures: n(&i, "failures")
                            .and_then(|v| u32::try_from(v).ok())
                            .unwrap_or(0),
                    }
                }));
            }
            let after = decide(&before);
            if after == before {
                return Ok(before); // nothing to write (a lockout answered, say)
            }
            let mut writes = Vec::with_capacity(keys.len());
            for (((k, old), new), version) in keys.iter().zip(&before).zip(&after).zip(&versions) {
                // Every key read must be as read, changed or not: the decision took all of them.
                let (condition, values) = match version {
                    Some(v) => (
                        "version = :v",
                        Some(Item::from([(":v".to_owned(), num(v))])),
                    ),
                    None => ("attribute_not_exists(pk)", None),
                };
                let write = match (old != new, new) {
                    (false, _) => {
                        let check = ConditionCheck::builder()
                            .table_name(self.table.name())
                            .set_key(Some(item_key(k)))
                            .condition_expression(condition)
                            .set_expression_attribute_values(values.clone());
                        TransactWriteItem::builder()
                            .condition_check(check.build().map_err(bad)?)
                            .build()
                    }
                    (true, Some(w)) => {
                        let mut item = item_key(k);
                        item.insert("started_at".into(), num(w.started_at));
                        item.insert("failures".into(), num(w.failures));
                        item.insert("version".into(), num(version.unwrap_or(0) + 1));
                        item.insert("expires_at".into(), num(expires_at.max(w.started_at)));
                        let put = Put::builder()
                            .table_name(self.table.name())
                            .set_item(Some(item))
                            .condition_expression(condition)
                            .set_expression_attribute_values(values.clone());
                        TransactWriteItem::builder()
                            .put(put.build().map_err(bad)?)
                            .build()
                    }
                    (true, None) => {
                        let delete = Delete::builder()
                            .table_name(self.table.name())
                            .set_key(Some(item_key(k)))
                            .condition_expression(condition)
                            .set_expression_attribute_values(values.clone());
                        TransactWriteItem::builder()
                            .delete(delete.build().map_err(bad)?)
                            .build()
                    }
                };
                writes.push(write);
            }
            let sent = self
                .table
                .client()
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(before),
                // A key changed under us (a condition failed) or another transaction held it
                // (a conflict): both cancel the transaction. Read again and decide again.
                Err(e)
                    if e.as_service_error().is_some_and(
                        TransactWriteItemsError::is_transaction_canceled_exception,
                    ) =>
                {
                    back_off(attempt).await;
                }
                Err(e) => return Err(internal(e)),
            }
        }
        Err(StoreError::Internal(format!(
            "dynamodb: the sign-in counters of {keys:?} stayed contended for {TRIES} tries"
        )))
    }
}
