//! The deployment's files, checked without AWS or Docker: the CloudFormation template by
//! cfn-lint, the Dockerfiles by BuildKit's parser (`scripts/check-dockerfiles.py`), the CI
//! workflow and the Pages routes as YAML/JSON, and the template against what the code needs.
//! The tools live in `.tools/aws` (`scripts/setup.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tool(name: &str) -> PathBuf {
    let path = root().join(".tools/aws/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.current_dir(root()).output().expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_template_passes_cfn_lint() {
    let (ok, text) = run(Command::new(tool("cfn-lint")).arg("deploy/template.yaml"));
    assert!(ok, "cfn-lint:\n{text}");
    // And cfn-lint does find mistakes: a resource type that does not exist.
    let broken = std::env::temp_dir().join(format!("spaceport-broken-{}.yaml", std::process::id()));
    std::fs::write(
        &broken,
        "Resources:\n  Table:\n    Type: AWS::DynamoDB::Tabel\n",
    )
    .expect("write");
    let (ok, _) = run(Command::new(tool("cfn-lint")).arg(&broken));
    let _ = std::fs::remove_file(&broken);
    assert!(!ok, "cfn-lint must refuse a misspelt resource type");
}

#[test]
fn the_template_gives_the_state_machine_every_placeholder_and_the_bucket_its_cors() {
    let template = std::fs::read_to_string(root().join("deploy/template.yaml")).expect("template");
    let definition = cloud::state_machine::definition().to_string();
    for piece in definition.split("${").skip(1) {
        let name = piece.split('}').next().expect("placeholder");
        assert!(
            template.contains(&format!("        {name}: ")),
            "DefinitionSubstitutions lacks {name}"
        );
    }
    assert!(
        template.contains("ExposedHeaders: [ETag"),
        "the browser must read each part's ETag"
    );
    assert!(template.contains("AllowedMethods: [GET, HEAD, PUT]"));
    assert!(
        template.contains("ALLOW_USER_PASSWORD_AUTH"),
        "the server signs in with USER_PASSWORD_AUTH"
    );
    assert!(template.contains(&format!("GroupName: {}", cloud::cognito_auth::ADMIN_GROUP)));
    assert!(
        template.contains("AttributeName: expires_at"),
        "expired sessions and links are removed"
    );
}

#[test]
fn the_dockerfiles_parse_and_their_sources_exist() {
    let (ok, text) = run(Command::new(tool("python"))
        .arg("scripts/check-dockerfiles.py")
        .args(["deploy/pipeline.Dockerfile", "deploy/backend.Dockerfile"]));
    assert!(ok, "{text}");
    let broken = std::env::temp_dir().join(format!(
        "spaceport-broken-{}.Dockerfile",
        std::process::id()
    ));
    std::fs::write(
        &broken,
        "FROM debian\nCOPY --from=build /x /y\nENTRYPOINT spaceport\n",
    )
    .expect("write");
    let (ok, text) = run(Command::new(tool("python"))
        .arg("scripts/check-dockerfiles.py")
        .arg(&broken));
    let _ = std::fs::remove_file(&broken);
    assert!(
        !ok && text.contains("--from=build") && text.contains("exec form"),
        "{text}"
    );
    let pipeline =
        std::fs::read_to_string(root().join("deploy/pipeline.Dockerfile")).expect("file");
    assert!(
        pipeline.contains("ENTRYPOINT [\"spaceport\"]"),
        "the state machine runs `spaceport run-stage`"
    );
    assert!(pipeline.contains("colmap"));
}

#[test]
fn the_workflow_and_the_pages_routes_are_well_formed() {
    let (ok, text) = run(Command::new(tool("python")).args([
        "-c",
        "import json, sys, yaml\n\
         w = yaml.safe_load(open('.github/workflows/deploy.yml'))\n\
         assert set(w['jobs']) == {'test', 'deploy'}, w['jobs'].keys()\n\
         assert w['jobs']['deploy']['needs'] == 'test'\n\
         r = json.load(open('deploy/pages/_routes.json'))\n\
         assert '/pkg/*' in r['exclude'], r\n",
    ]));
    assert!(ok, "{text}");
}
