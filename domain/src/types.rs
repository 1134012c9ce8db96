//! Domain newtypes. Each `parse` is the only way in, so a value of the type is valid by
//! construction ("parse, don't validate").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A lower-cased, syntactically plausible email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim().to_lowercase();
        let invalid =
            || ValidationError::new("email", "enter an email address like name@example.com");
        if value.is_empty() {
            return Err(ValidationError::new("email", "enter your email address"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "email",
                "that email address is too long",
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The public name a user picks at first sign-in (Cognito's `preferred_username`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let len = value.chars().count();
        if !(3..=30).contains(&len) {
            return Err(ValidationError::new(
                "handle",
                "a handle is 3 to 30 characters long",
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ValidationError::new(
                "handle",
                "use only letters, digits, '.', '_' and '-' in a handle",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password a user is *choosing*. Length is the rule that matters (NIST SP 800-63B); the upper
/// bound keeps hashing cost bounded. Passwords being *checked* are plain `&str`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str, field: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            return Err(ValidationError::new(
                field,
                format!("use at least {} characters", Self::MIN_CHARS),
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(ValidationError::new(
                field,
                format!("use at most {} characters", Self::MAX_CHARS),
            ));
        }
        let first = raw.chars().next();
        if raw.chars().all(|c| Some(c) == first) {
            return Err(ValidationError::new(
                field,
                "that password is too easy to guess",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// An opaque identifier (user or project): 128 random bits, hex-encoded by the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserId(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProjectId(pub String);

impl ProjectId {
    /// Ids are 32 lower-case hex digits; anything else cannot name a project, and refusing it early
    /// keeps junk out of queries and logs.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new("id", "no such project"))
        }
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    User,
    Admin,
}

/// The signed-in user as every page sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub handle: Option<Handle>,
    pub role: Role,
}

/// An account as the admin list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The account's id (what owns projects and jobs).
    pub id: UserId,
    pub email: Email,
    pub handle: Option<Handle>,
    pub role: Role,
    /// Still on the temporary password (has never completed first sign-in).
    pub pending: bool,
    pub created_at: i64,
    /// Disabled by an admin: cannot sign in.
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub email: Email,
    pub note: String,
    pub created_at: i64,
}

/// A project title: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTitle(String);

impl ProjectTitle {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ValidationError::new("title", "give the project a title"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "title",
                format!("keep the title under {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "title",
                "the title contains invisible control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a project stands. The progress figures are the old product's, which users know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectStatus {
    Draft,
    PathDownloaded,
    PhotosUploaded,
    Processing,
    Delivered,
    Failed,
}

impl ProjectStatus {
    pub const ALL: [Self; 6] = [
        Self::Draft,
        Self::PathDownloaded,
        Self::PhotosUploaded,
        Self::Processing,
        Self::Delivered,
        Self::Failed,
    ];

    /// Percent complete; `None` for `failed`, which has no place on the bar.
    pub fn progress_percent(self) -> Option<u8> {
        match self {
            Self::Draft => Some(5),
            Self::PathDownloaded => Some(20),
            Self::PhotosUploaded => Some(50),
            Self::Processing => Some(75),
            Self::Delivered => Some(100),
            Self::Failed => None,
        }
    }

    /// The stable name stored in databases and used by the old system.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PathDownloaded => "path_downloaded",
            Self::PhotosUploaded => "photos_uploaded",
            Self::Processing => "processing",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::PathDownloaded => "Flight plan downloaded",
            Self::PhotosUploaded => "Photos uploaded",
            Self::Processing => "Processing",
            Self::Delivered => "Delivered",
            Self::Failed => "Failed",
        }
    }
}

/// What the pilot types to plan a flight; kept with the project so the plan can be regenerated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlightInputs {
    pub center_lat: f64,
    pub center_lon: f64,
    pub battery_minutes: u32,
    pub batteries: u32,
    pub min_height_ft: f64,
    pub max_height_ft: f64,
}

impl FlightInputs {
    /// Parses the form's text fields. `center` is "lat, lon" in decimal degrees.
    pub fn parse(
        center: &str,
        battery_minutes: &str,
        batteries: &str,
        min_height_ft: &str,
        max_height_ft: &str,
    ) -> Result<Self, ValidationError> {
        let (center_lat, center_lon) = parse_center(center)?;
        let battery_minutes =
            parse_int(battery_minutes, "battery_minutes", 1, 60, "battery minutes")?;
        let batteries = parse_int(batteries, "batteries", 1, 12, "batteries")?;
        let min_height_ft = parse_height(min_height_ft, "min_height_ft")?;
        let max_height_ft = parse_height(max_height_ft, "max_height_ft")?;
        if max_height_ft < min_height_ft {
            return Err(ValidationError::new(
                "max_height_ft",
                "the maximum height must be at least the minimum height",
            ));
        }
        Ok(Self {
            center_lat,
            center_lon,
            battery_minutes,
            batteries,
            min_height_ft,
            max_height_ft,
        })
    }

    pub fn center_text(&self) -> String {
        center_text(self.center_lat, self.center_lon)
    }
}

/// A centre as the form writes it (about 0.1 m of precision).
pub fn center_text(lat: f64, lon: f64) -> String {
    format!("{lat:.6}, {lon:.6}")
}

/// A centre as the form takes it: "latitude, longitude" in decimal degrees.
pub fn parse_center(raw: &str) -> Result<(f64, f64), ValidationError> {
    let err = || {
        ValidationError::new(
            "center",
            "type the centre as \"latitude, longitude\", e.g. 47.6205, -122.3493",
        )
    };
    let (lat, lon) = raw.split_once(',').ok_or_else(err)?;
    let lat: f64 = lat.trim().parse().map_err(|_| err())?;
    let lon: f64 = lon.trim().parse().map_err(|_| err())?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ValidationError::new(
            "center",
            "latitude must be between -90 and 90",
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ValidationError::new(
            "center",
            "longitude must be between -180 and 180",
        ));
    }
    Ok((lat, lon))
}

fn parse_int(
    raw: &str,
    field: &str,
    min: u32,
    max: u32,
    what: &str,
) -> Result<u32, ValidationError> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            ValidationError::new(
                field,
                format!("{what} must be a whole number from {min} to {max}"),
            )
        })
}

/// Heights are feet above ground; 400 ft is the usual legal ceiling for small drones.
fn parse_height(raw: &str, field: &str) -> Result<f64, ValidationError> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (10.0..=400.0).contains(v))
        .ok_or_else(|| ValidationError::new(field, "heights are feet above ground, from 10 to 400"))
}

/// A project as its owner sees it. `updated_at`/`created_at` are Unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub title: ProjectTitle,
    pub status: ProjectStatus,
    pub flight: Option<FlightInputs>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `YYYY-MM-DD` for a Unix time, the same on server and browser (no clock or locale involved, so
/// hydration never disagrees with the server's render).
pub fn format_date(unix_secs: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let days = unix_secs.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Pilot@Example.COM ").map(|e| e.0),
            Ok("pilot@example.com".into())
        );
        for bad in [
            "",
            "no-at",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@x.com",
            "a@.com",
            "a@x..com",
            "a@x.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(260))).is_err());
    }

    #[test]
    fn handle_rules() {
        assert!(Handle::parse("sky_pilot-7.").is_ok());
        assert!(Handle::parse("ab").is_err());
        assert!(Handle::parse(&"a".repeat(31)).is_err());
        assert!(Handle::parse("no spaces").is_err());
        assert!(Handle::parse("émile").is_err());
    }

    #[test]
    fn new_password_rules() {
        assert!(NewPassword::parse("short", "password").is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaa", "password").is_err());
        assert!(NewPassword::parse(&"ab".repeat(65), "password").is_err());
        let ok = NewPassword::parse("correct horse battery", "password").expect("valid");
        assert_eq!(format!("{ok:?}"), "NewPassword(<redacted>)");
    }

    #[test]
    fn title_rules() {
        assert_eq!(
            ProjectTitle::parse("  Barn  ").map(|t| t.0),
            Ok("Barn".into())
        );
        assert!(ProjectTitle::parse("   ").is_err());
        assert!(ProjectTitle::parse(&"x".repeat(101)).is_err());
        assert!(ProjectTitle::parse("a\u{0}b").is_err());
    }

    #[test]
    fn statuses_round_trip_and_progress() {
        for s in ProjectStatus::ALL {
            assert_eq!(ProjectStatus::parse(s.as_str()), Some(s));
        }
        let bars: Vec<_> = ProjectStatus::ALL
            .iter()
            .map(|s| s.progress_percent())
            .collect();
        assert_eq!(
            bars,
            [Some(5), Some(20), Some(50), Some(75), Some(100), None]
        );
    }

    #[test]
    fn project_ids_are_strict() {
        assert!(ProjectId::parse("0123456789abcdef0123456789abcdef").is_ok());
        assert!(ProjectId::parse("0123456789ABCDEF0123456789abcdef").is_err());
        assert!(ProjectId::parse("../etc/passwd").is_err());
    }

    #[test]
    fn flight_inputs_validate() {
        let ok = FlightInputs::parse("47.6205, -122.3493", "20", "3", "120", "300").expect("valid");
        assert_eq!(ok.batteries, 3);
        assert_eq!(ok.center_text(), "47.620500, -122.349300");
        let field = |r: Result<FlightInputs, ValidationError>| r.err().map(|e| e.field);
        assert_eq!(
            field(FlightInputs::parse("47.6", "20", "3", "120", "300")),
            Some("center".into())
        );
        assert_eq!(
            field(FlightInputs::parse("91, 0", "20", "3", "120", "300")),
            Some("center".into())
        );
        assert_eq!(
            field(FlightInputs::parse("1, 2", "0", "3", "120", "300")),
            Some("battery_minutes".into())
        );
        assert_eq!(
            field(FlightInputs::parse("1, 2", "20", "13", "120", "300")),
            Some("batteries".into())
        );
        assert_eq!(
            field(FlightInputs::parse("1, 2", "20", "3", "NaN", "300")),
            Some("min_height_ft".into())
        );
        assert_eq!(
            field(FlightInputs::parse("1, 2", "20", "3", "200", "150")),
            Some("max_height_ft".into())
        );
    }

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(1_795_737_600), "2026-11-27");
        assert_eq!(format_date(-86_400), "1969-12-31");
    }
}
