//! `Waitlist` on DynamoDB: one item per address under `pk = "WAITLIST"`, written only if absent,
//! so joining twice keeps the first entry untouched.

use async_trait::async_trait;
use domain::ports::Waitlist;
use domain::{Email, StoreError, WaitlistEntry};

use crate::table::{self, key, n, num, s, text, Table};

pub struct DynamoWaitlist {
    table: Table,
}

impl DynamoWaitlist {
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

#[async_trait]
impl Waitlist for DynamoWaitlist {
    async fn join(&self, email: &Email, note: &str) -> Result<bool, StoreError> {
        let mut item = key("WAITLIST", email.as_str());
        item.insert("note".to_owned(), text(note));
        item.insert("created_at".to_owned(), num(table::now_secs()));
        self.table.put_new(item).await
    }

    async fn list(&self) -> Result<Vec<WaitlistEntry>, StoreError> {
        let mut entries: Vec<WaitlistEntry> = self
            .table
            .query("WAITLIST", "")
            .await?
            .iter()
            .filter_map(|item| {
                Some(WaitlistEntry {
                    email: Email::parse(s(item, "sk")?).ok()?,
                    note: s(item, "note").unwrap_or_default().to_owned(),
                    created_at: n(item, "created_at")?,
                })
            })
            .collect();
        entries.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.email.as_str().cmp(b.email.as_str()))
        });
        Ok(entries)
    }
}
