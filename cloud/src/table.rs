//! The one DynamoDB table every cloud adapter shares, and the few ways they use it. Keys are
//! `pk`/`sk` strings; records that belong to a user live under `pk = "OWNER#{user}"`, so every
//! read of a user's things names the user in its key and another user's records are not hidden
//! by a filter but simply elsewhere.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use aws_sdk_dynamodb::Client;
use domain::{StoreError, UserId};

use crate::settings::describe;

/// One item: attribute name → value.
pub type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct Table {
    client: Client,
    name: String,
}

/// The key of an item.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.into())),
        ("sk".to_owned(), AttributeValue::S(sk.into())),
    ])
}

/// The partition of a user's records.
pub fn owner_pk(owner: &UserId) -> String {
    format!("OWNER#{}", owner.0)
}

pub fn text(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn num(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute.
pub fn s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A number attribute.
pub fn n(item: &Item, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub use ids::{new_id, new_token, now_secs};

/// A failed call, with its causes, for logs (never shown to users).
pub fn internal(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Internal(format!("dynamodb: {}", describe(&e)))
}

/// Did a conditional write fail its condition?
pub fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

impl Table {
    pub fn new(config: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            name: name.into(),
        }
    }

    /// For the writes that need their own expressions.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads an item (strongly consistent: a write is seen by the next read).
    pub async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(internal)?;
        Ok(out.item().cloned())
    }

    pub async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Writes an item unless one with its key exists; `Ok(false)` when one did.
    pub async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(internal(e)),
        }
    }

    /// Deletes an item; `Ok(false)` when there was none.
    pub async fn delete(&self, key: Item) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(internal(e)),
        }
    }

    /// Deletes an item and returns it: of two callers taking the same item at the same moment,
    /// one gets it and the other `Ok(None)` (a read then a delete would give it to both).
    pub async fn take(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.attributes().cloned()),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    /// A query of partition `pk`, for sort keys starting with `prefix` (all of them when empty:
    /// DynamoDB refuses an empty `begins_with`).
    fn query_builder(
        &self,
        pk: &str,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let q = self
            .client
            .query()
            .table_name(&self.name)
            .expression_attribute_values(":pk", text(pk));
        if prefix.is_empty() {
            q.key_condition_expression("pk = :pk")
        } else {
            q.key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", text(prefix))
        }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, all pages.
    pub async fn query(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .query_builder(pk, prefix)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(internal)?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// How many items `query` would return, without reading them.
    pub async fn count(&self, pk: &str, prefix: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .query_builder(pk, prefix)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(internal)?;
            count += usize::try_from(page.count()).unwrap_or(0);
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(count),
            }
        }
    }
}
