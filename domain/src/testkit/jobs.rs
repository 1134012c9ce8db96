//! The suites of the job ports: `JobRunner` (what needs no stage to do work) and
//! `DeliveredFiles`.

use crate::ports::{ProjectStore, UploadStore};
use crate::{ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};

/// Every `JobRunner` behaviour callers rely on that needs no stage to do work: launch rules, one
/// job at a time, owners only, cancel, and run again. Nothing runs the stages while it does (no
/// worker, no stand-in SageMaker), so a launched job stays unfinished until cancelled.
pub async fn job_runner(
    jobs: &dyn crate::ports::JobRunner,
    projects: &dyn ProjectStore,
    uploads: &dyn UploadStore,
    owner: &UserId,
    stranger: &UserId,
) {
    use crate::job::{Job, JobStatus, Preset, Stage};
    let invalid = |r: Result<Job, StoreError>, field: &str| match r {
        Err(StoreError::Validation(v)) => assert_eq!(v.field, field, "{v:?}"),
        other => panic!("expected a validation error on {field}, got {other:?}"),
    };
    // The job once its run has ended: a stopped execution ends shortly after the call (30 s is
    // for a loaded machine).
    let settled = |project: ProjectId| async move {
        for _ in 0..300 {
            let (job, _) = jobs
                .latest(owner, &project, 0)
                .await
                .expect("latest")
                .expect("a job");
            if job.status.is_terminal() {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the cancelled job never ended");
    };
    let title = |raw: &str| ProjectTitle::parse(raw).expect("title");
    let ready = projects
        .create(owner, &title("Job suite"))
        .await
        .expect("project")
        .id;
    let empty = projects
        .create(owner, &title("No photos yet"))
        .await
        .expect("project")
        .id;
    let preview = Preset::Preview.params();
    let standard = Preset::Standard.params();

    // Nothing has run yet.
    assert_eq!(jobs.latest(owner, &ready, 0).await, Ok(None));
    assert_eq!(jobs.cancel(owner, &ready).await, Err(StoreError::NotFound));
    invalid(jobs.resume(owner, &ready, None, None).await, "from");
    invalid(jobs.launch(owner, &empty, preview).await, "photos");

    // Photos (what they hold does not matter: nothing reads them here).
    let archive = b"photos stand-in".to_vec();
    let session = uploads
        .create(owner, &ready, "photos.zip", archive.len() as u64)
        .await
        .expect("upload");
    uploads
        .put_part(owner, &session.id, 1, &archive)
        .await
        .expect("part");
    uploads
        .complete(owner, &session.id)
        .await
        .expect("complete");

    // Launch: owners only, one job at a time.
    assert_eq!(
        jobs.launch(stranger, &ready, preview).await,
        Err(StoreError::NotFound)
    );
    // Six launches at the same moment (a double click, two tabs): exactly one starts. Three
    // rounds, the first two cancelled, since a race shows only some of the times it is run.
    let burst = || async {
        let launch = || jobs.launch(owner, &ready, preview);
        let burst = tokio::join!(launch(), launch(), launch(), launch(), launch(), launch());
        let mut started = Vec::new();
        for result in [burst.0, burst.1, burst.2, burst.3, burst.4, burst.5] {
            match result {
                Ok(job) => started.push(job),
                Err(StoreError::LimitReached(_)) => {}
                Err(e) => panic!("a launch beside another one failed: {e:?}"),
            }
        }
        assert_eq!(
            started.len(),
            1,
            "one job at a time, even at once: {started:?}"
        );
        started.remove(0)
    };
    for _ in 0..2 {
        let job = burst().await;
        jobs.cancel(owner, &ready).await.expect("cancel");
        assert_eq!(settled(ready.clone()).await.id, job.id);
    }
    let job = burst().await;
    assert!(!job.id.is_empty() && job.project == ready && job.params == preview);
    assert!(
        !job.status.is_terminal() && job.done_stages.is_empty(),
        "{job:?}"
    );
    let (latest, _) = jobs
        .latest(owner, &ready, 0)
        .await
        .expect("latest")
        .expect("a job");
    assert_eq!(latest.id, job.id);
    assert!(
        matches!(
            jobs.latest(stranger, &ready, 0).await,
            Ok(None) | Err(StoreError::NotFound)
        ),
        "a stranger sees no job"
    );
    assert!(matches!(
        jobs.launch(owner, &ready, preview).await,
        Err(StoreError::LimitReached(_))
    ));
    assert!(
        matches!(
            jobs.resume(owner, &ready, None, None).await,
            Err(StoreError::LimitReached(_))
        ),
        "a running job cannot run again"
    );
    // The operator sees it, under its owner.
    let active = jobs.active().await.expect("active");
    assert!(
        active
            .iter()
            .any(|(who, j)| who == owner && j.id == job.id && j.project == ready),
        "{active:?}"
    );

    // Cancel: owners only, once.
    assert_eq!(
        jobs.cancel(stranger, &ready).await,
        Err(StoreError::NotFound)
    );
    jobs.cancel(owner, &ready).await.expect("cancel");
    let cancelled = settled(ready.clone()).await;
    assert_eq!(
        (cancelled.id.as_str(), cancelled.status),
        (job.id.as_str(), JobStatus::Cancelled),
        "{cancelled:?}"
    );
    assert!(cancelled.finished_at.is_some());
    // Recorded by whoever follows the job (the runner itself, or the cloud's watcher: a page
    // asking where the job is never writes).
    let mut project_status = ProjectStatus::Processing;
    for _ in 0..300 {
        project_status = projects.get(owner, &ready).await.expect("project").status;
        if project_status != ProjectStatus::Processing {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        project_status,
        ProjectStatus::PhotosUploaded,
        "a cancelled project can be processed again"
    );
    assert_eq!(jobs.cancel(owner, &ready).await, Err(StoreError::NotFound));
    assert!(
        !jobs
            .active()
            .await
            .expect("active")
            .iter()
            .any(|(_, j)| j.id == job.id),
        "an ended job leaves the operator's view"
    );

    // Run again: only stages whose predecessors finished; new settings replace the old.
    invalid(
        jobs.resume(owner, &ready, Some(Stage::Train), None).await,
        "from",
    );
    assert_eq!(
        jobs.resume(stranger, &ready, None, None).await,
        Err(StoreError::NotFound)
    );
    let again = jobs
        .resume(owner, &ready, None, Some(standard))
        .await
        .expect("run again");
    assert_eq!(
        (again.id.as_str(), again.params),
        (job.id.as_str(), standard)
    );
    assert_eq!(
        again.done_stages, cancelled.done_stages,
        "running again keeps what had finished"
    );
    assert!(!again.status.is_terminal(), "{again:?}");
    jobs.cancel(owner, &ready).await.expect("cancel again");
    let last = settled(ready.clone()).await;
    assert_eq!(last.status, JobStatus::Cancelled, "{last:?}");
}

/// A delivered job with nothing delivered yet, for [`delivered_files`].
pub fn delivered_job(id: &str) -> crate::job::Job {
    use crate::job::{Job, JobStatus, Preset, Stage};
    Job {
        id: id.to_owned(),
        project: ProjectId("0123456789abcdef0123456789abcdef".to_owned()),
        status: JobStatus::Succeeded,
        stage: None,
        done_stages: Stage::ALL.to_vec(),
        params: Preset::Preview.params(),
        error: None,
        created_at: 1,
        started_at: Some(2),
        finished_at: Some(3),
    }
}

/// What `delivered_files` puts in place before it asks: a delivered job's folder as the pipeline
/// leaves it, written by the implementation's own means (a folder on disk, objects in S3).
#[async_trait::async_trait]
pub trait Shelf: Send + Sync {
    async fn put(&self, job: &crate::job::Job, file: crate::job::DeliveredFile, bytes: &[u8]);
}

/// Every `DeliveredFiles` behaviour callers rely on: files read back as written, missing ones
/// as `None`, the quality report and the up axis worked out from them, and a place the browser
/// can fetch each from. `job` must be a fresh succeeded job with nothing delivered yet.
pub async fn delivered_files(
    files: &dyn crate::ports::DeliveredFiles,
    shelf: &dyn Shelf,
    job: &crate::job::Job,
) {
    use crate::job::{DeliveredFile, JobStatus};
    use crate::ports::Delivery;
    assert_eq!(
        job.status,
        JobStatus::Succeeded,
        "the suite needs a delivered job"
    );
    for file in [
        DeliveredFile::Sog,
        DeliveredFile::Report,
        DeliveredFile::Geo,
    ] {
        assert_eq!(
            files.read(job, file).await,
            Ok(None),
            "{file:?} before it exists"
        );
        assert_eq!(
            files.size(job, file).await,
            Ok(None),
            "{file:?} before it exists"
        );
    }
    assert!(
        files.model_report(job).await.is_err(),
        "a delivered job without its report is an error, not a blank report"
    );

    let report = br#"{"iterations":7000,"gaussians":123456,"sh_degree":3,"seconds":812.5,
        "evaluation":{"psnr":27.25,"ssim":0.875,"views":[{},{}]}}"#;
    let model = vec![7u8; 4321];
    shelf.put(job, DeliveredFile::Report, report).await;
    shelf.put(job, DeliveredFile::Sog, &model).await;
    assert_eq!(
        files.read(job, DeliveredFile::Report).await,
        Ok(Some(report.to_vec()))
    );
    assert_eq!(files.size(job, DeliveredFile::Sog).await, Ok(Some(4321)));
    let r = files
        .model_report(job)
        .await
        .expect("report")
        .expect("a delivered job has a report");
    assert_eq!(
        (r.psnr, r.ssim, r.held_out, r.gaussians, r.sog_bytes),
        (Some(27.25), Some(0.875), 2, 123_456, 4321)
    );
    let unfinished = crate::job::Job {
        status: JobStatus::Failed,
        ..job.clone()
    };
    assert_eq!(
        files.model_report(&unfinished).await,
        Ok(None),
        "only a delivered job has a report"
    );

    // The up axis: georegistered only when Structure-from-Motion wrote its origin.
    assert_eq!(files.georegistered(job).await, Ok(false));
    shelf
        .put(job, DeliveredFile::Geo, br#"{"origin":{}}"#)
        .await;
    assert_eq!(files.georegistered(job).await, Ok(true));
    assert_eq!(files.georegistered(&unfinished).await, Ok(false));

    // Where the browser gets the model: a file this server serves, or a URL elsewhere.
    match files.locate(job, DeliveredFile::Sog).await.expect("locate") {
        Delivery::File(path) => assert!(
            path.ends_with(DeliveredFile::Sog.path()) && path.exists(),
            "{}",
            path.display()
        ),
        Delivery::Url(url) => assert!(
            url.starts_with("http") && url.contains(&job.id) && url.contains("model.sog"),
            "{url}"
        ),
    }
}
