//! A local stand-in of AWS for tests: the moto server (installed by `scripts/setup.sh` into
//! `.tools/aws`) on a free port, one per test so tests cannot see each other's data, and
//! `provision`, which creates what the deployment template would (table, bucket with CORS, user
//! pool and client). Compiled only with the `testkit` feature.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use crate::AwsSettings;

/// A running moto server; killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server`: `$MOTO_SERVER`, else `.tools/aws/bin/moto_server` in the workspace.
fn moto_server() -> PathBuf {
    std::env::var_os("MOTO_SERVER").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/aws/bin/moto_server"),
        PathBuf::from,
    )
}

impl Moto {
    /// Starts a fresh server and waits until it answers. Sets the process's AWS credentials to
    /// moto's test values (the same for every test, so concurrent tests agree).
    pub fn start() -> Self {
        let bin = moto_server();
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup.sh (it installs moto into .tools/aws)",
            bin.display()
        );
        set_test_credentials();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_mins(1);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Settings naming resources that do not exist yet; `provision` creates them.
    pub fn settings(&self, name: &str) -> AwsSettings {
        AwsSettings {
            region: "eu-west-1".to_owned(),
            endpoint_url: Some(self.url.clone()),
            table: format!("{name}-table"),
            bucket: format!("{name}-bucket"),
            user_pool_id: String::new(),
            client_id: String::new(),
        }
    }
}

/// moto accepts any credentials unless told otherwise; these are its documented test values.
pub fn set_test_credentials() {
    // Every caller sets the same values, so threads racing here cannot disagree.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
    ] {
        if std::env::var(k).as_deref() != Ok(v) {
            std::env::set_var(k, v);
        }
    }
    std::env::remove_var("AWS_PROFILE");
}

/// Creates the table, the bucket (with the CORS rule the browser's direct uploads need) and a
/// user pool with an app client, as the deployment template does, and fills in their ids.
pub async fn provision(settings: &mut AwsSettings) {
    let config = settings.sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    dynamo
        .create_table()
        .table_name(&settings.table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");

    let s3 = crate::s3_uploads::s3_client(&config);
    s3.create_bucket()
        .bucket(&settings.bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("{}-users", settings.table))
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        .schema(
            SchemaAttributeType::builder()
                .name("preferred_username")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("create user pool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("spaceport")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("create app client");
    client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .clone_into(&mut settings.client_id);
    cognito
        .create_group()
        .user_pool_id(&pool_id)
        .group_name(crate::cognito_auth::ADMIN_GROUP)
        .send()
        .await
        .expect("create the admin group");
    settings.user_pool_id = pool_id;
}

/// Marks every stored session's access token as expired, so the next use must renew it.
pub async fn expire_access_tokens(settings: &AwsSettings) {
    let dynamo = aws_sdk_dynamodb::Client::new(&settings.sdk_config().await);
    let items = dynamo
        .scan()
        .table_name(&settings.table)
        .send()
        .await
        .expect("scan");
    for item in items.items() {
        if item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some("SESSION")
        {
            let mut item = item.clone();
            item.insert(
                "access_exp".to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::N("0".to_owned()),
            );
            dynamo
                .put_item()
                .table_name(&settings.table)
                .set_item(Some(item))
                .send()
                .await
                .expect("put");
        }
    }
}
