//! `Waitlist` on DynamoDB: one item per address under `pk = "WAITLIST"`, written only if absent,
//! so joining twice keeps the first entry untouched.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::ports::Waitlist;
use domain::{Email, StoreError, WaitlistEntry};

use crate::dynamo_projects::{self as dp, Item};

pub struct DynamoWaitlist {
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoWaitlist {
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            dynamo: aws_sdk_dynamodb::Client::new(config),
            table: table.into(),
        }
    }
}

#[async_trait]
impl Waitlist for DynamoWaitlist {
    async fn join(&self, email: &Email, note: &str) -> Result<bool, StoreError> {
        let item: Item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("WAITLIST".to_owned())),
            (
                "sk".to_owned(),
                AttributeValue::S(email.as_str().to_owned()),
            ),
            ("note".to_owned(), AttributeValue::S(note.to_owned())),
            (
                "created_at".to_owned(),
                AttributeValue::N(dp::now_secs().to_string()),
            ),
        ]);
        let put = self
            .dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if dp::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(dp::internal(e)),
        }
    }

    async fn list(&self) -> Result<Vec<WaitlistEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S("WAITLIST".to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(dp::internal)?;
            for item in page.items() {
                let (Some(email), Some(created_at)) = (
                    dp::s(item, "sk").and_then(|e| Email::parse(e).ok()),
                    dp::n(item, "created_at"),
                ) else {
                    continue;
                };
                entries.push(WaitlistEntry {
                    email,
                    note: dp::s(item, "note").unwrap_or_default().to_owned(),
                    created_at,
                });
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        entries.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.email.as_str().cmp(b.email.as_str()))
        });
        Ok(entries)
    }
}
