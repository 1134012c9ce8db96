//! `ShareLinks` on DynamoDB: the owner's record of a project's link (`pk = OWNER#…`,
//! `sk = SHARE#{project}`) and the link's own record (`pk = LINK#{token}`), which `resolve` reads
//! without knowing the owner. Revoking deletes both, so the old link is dead for good.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::ports::{ProjectStore, ShareLinks};
use domain::{ProjectId, StoreError, UserId};

use crate::dynamo_projects::{self as dp, Item};

pub struct DynamoShares {
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    projects: Arc<dyn ProjectStore>,
}

fn owner_key(owner: &UserId, project: &ProjectId) -> Item {
    HashMap::from([
        ("pk".to_owned(), dp::owner_key(owner)),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("SHARE#{}", project.0)),
        ),
    ])
}

fn link_key(token: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(format!("LINK#{token}"))),
        ("sk".to_owned(), AttributeValue::S("LINK".to_owned())),
    ])
}

impl DynamoShares {
    pub fn new(
        config: &aws_config::SdkConfig,
        table: impl Into<String>,
        projects: Arc<dyn ProjectStore>,
    ) -> Self {
        Self {
            dynamo: aws_sdk_dynamodb::Client::new(config),
            table: table.into(),
            projects,
        }
    }

    async fn read(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(dp::internal)?;
        Ok(out.item().cloned())
    }

    async fn write(&self, item: Item) -> Result<(), StoreError> {
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(dp::internal)?;
        Ok(())
    }
}

#[async_trait]
impl ShareLinks for DynamoShares {
    async fn share(&self, owner: &UserId, project: &ProjectId) -> Result<String, StoreError> {
        if let Some(token) = self.current(owner, project).await? {
            return Ok(token);
        }
        // 256 random bits: a link cannot be guessed.
        let token = hex::encode(rand::random::<[u8; 32]>());
        let mut link = link_key(&token);
        link.insert("owner".to_owned(), AttributeValue::S(owner.0.clone()));
        link.insert("project".to_owned(), AttributeValue::S(project.0.clone()));
        self.write(link).await?;
        let mut mine = owner_key(owner, project);
        mine.insert("token".to_owned(), AttributeValue::S(token.clone()));
        self.write(mine).await?;
        Ok(token)
    }

    async fn current(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<String>, StoreError> {
        self.projects.get(owner, project).await?;
        Ok(self
            .read(owner_key(owner, project))
            .await?
            .and_then(|i| dp::s(&i, "token").map(str::to_owned)))
    }

    async fn revoke(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        if let Some(token) = self.current(owner, project).await? {
            for key in [link_key(&token), owner_key(owner, project)] {
                self.dynamo
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key))
                    .send()
                    .await
                    .map_err(dp::internal)?;
            }
        }
        Ok(())
    }

    async fn resolve(&self, token: &str) -> Result<Option<(UserId, ProjectId)>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(item) = self.read(link_key(token)).await? else {
            return Ok(None);
        };
        let (Some(owner), Some(project)) = (dp::s(&item, "owner"), dp::s(&item, "project")) else {
            return Ok(None);
        };
        let (owner, project) = (UserId(owner.to_owned()), ProjectId(project.to_owned()));
        // A link to a deleted project is dead.
        match self.projects.get(&owner, &project).await {
            Ok(_) => Ok(Some((owner, project))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
