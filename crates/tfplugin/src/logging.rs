//! Logs as Terraform wants them: one hclog JSON object per line on stderr
//! (`@level`, `@message`, `@module`, `@timestamp` with exactly six fractional digits),
//! so `TF_LOG=debug` / `TF_LOG_PROVIDER` show them at their own level.
//!
//! The level comes from `TF_LOG_PROVIDER`, else `TF_LOG`; with neither set only
//! warnings and errors are written (Terraform discards the rest anyway).

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Installs the stderr JSON logger as the global subscriber; `module` names the
/// provider in Terraform's log (e.g. `provider.terraform-provider-dbaas`).
pub fn init(module: &'static str) {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER")
            .ok()
            .or_else(|| std::env::var("TF_LOG").ok())
            .as_deref(),
    );
    let subscriber = tracing_subscriber::registry().with(HclogLayer { module, max: level });
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Maps Terraform's log level names to a tracing level (anything unrecognised but set
/// means "trace", as Terraform treats it).
pub fn level_from_env(v: Option<&str>) -> Level {
    match v.map(|s| s.trim().to_ascii_lowercase()) {
        None => Level::WARN,
        Some(s) if s.is_empty() || s == "off" => Level::WARN,
        Some(s) => match s.as_str() {
            "error" => Level::ERROR,
            "warn" => Level::WARN,
            "info" => Level::INFO,
            "debug" => Level::DEBUG,
            _ => Level::TRACE,
        },
    }
}

struct HclogLayer {
    module: &'static str,
    max: Level,
}

#[derive(Default)]
struct Fields {
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.extra.insert(field.name().to_string(), value.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        if field.name() == "message" {
            self.message = s;
        } else {
            self.extra.insert(field.name().to_string(), s.into());
        }
    }
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max
            && !metadata.target().starts_with("h2")
            && !metadata.target().starts_with("hyper")
            && !metadata.target().starts_with("rustls")
            && !metadata.target().starts_with("sqlx")
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = render(
            self.module,
            *event.metadata().level(),
            &fields.message,
            fields.extra,
            std::time::SystemTime::now(),
        );
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

/// One hclog JSON line.
pub fn render(
    module: &str,
    level: Level,
    message: &str,
    extra: serde_json::Map<String, serde_json::Value>,
    at: std::time::SystemTime,
) -> String {
    let mut obj = extra;
    obj.insert("@level".into(), level_name(level).into());
    obj.insert("@message".into(), message.into());
    obj.insert("@module".into(), module.into());
    obj.insert("@timestamp".into(), timestamp(at).into());
    serde_json::Value::Object(obj).to_string()
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// RFC 3339 UTC with microseconds, e.g. `2026-11-25T14:52:21.123456Z`.
pub fn timestamp(at: std::time::SystemTime) -> String {
    let d = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamp_has_six_fraction_digits() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_000_000_000_042);
        assert_eq!(timestamp(t), "2026-11-18T11:06:40.000042Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn line_is_hclog_json() {
        let mut extra = serde_json::Map::new();
        extra.insert("rpc".into(), "ReadResource".into());
        let line = render(
            "provider.terraform-provider-dbaas",
            Level::DEBUG,
            "hello",
            extra,
            UNIX_EPOCH,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "debug");
        assert_eq!(v["@message"], "hello");
        assert_eq!(v["@module"], "provider.terraform-provider-dbaas");
        assert_eq!(v["rpc"], "ReadResource");
    }

    #[test]
    fn levels_follow_terraform_names() {
        assert_eq!(level_from_env(None), Level::WARN);
        assert_eq!(level_from_env(Some("DEBUG")), Level::DEBUG);
        assert_eq!(level_from_env(Some("1")), Level::TRACE);
        assert_eq!(level_from_env(Some("error")), Level::ERROR);
    }
}
