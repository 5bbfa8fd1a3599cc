use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "RABBIT_PASS" => Some("s3cr3t-pass".into()),
        "SHARDS" => Some("4".into()),
        "LONGVALUE" => Some("a-value-much-longer-than-its-reference".into()),
        _ => None,
    }
}

fn error_of(text: &str) -> Located {
    match load_str(text, "test.toml", &env) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => error.location().cloned().expect("error has a location"),
    }
}

fn position(located: &Located) -> (Option<usize>, Option<usize>, Option<&str>) {
    (located.line, located.column, located.key.as_deref())
}

#[test]
fn empty_file_gives_the_run_defaults() {
    let config = load_str("", "x", &env).expect("defaults are valid");
    assert_eq!(config.queue.kind, QueueKind::Disk);
    assert_eq!(config.indexer.listen.to_string(), "127.0.0.1:7700");
    assert_eq!(
        config.archive_target(),
        ArchiveTarget::Local {
            root: "loghaul-data/archive".into()
        }
    );
    assert_eq!(defaults().expect("defaults").queue, config.queue);
}

#[test]
fn the_design_example_parses() {
    let text = r#"
data_dir = "/var/lib/loghaul"
host = "${HOSTNAME:-web-1}"

[queue]
kind = "amqp"
url = "amqp://guest:${RABBIT_PASS}@127.0.0.1:5672/%2f"
shards = ${SHARDS}

[[shipper.sources]]
name = "app"
paths = ["/var/log/app/*.log"]
exclude = ["*.gz"]
format = "regex:myapp"
timezone = "UTC"
multiline = { start = '^\d{4}-\d{2}-\d{2}', timeout = "2s" }
max_line_bytes = "1MiB"

[shipper.rotate]
max_bytes = "100MiB"
max_age = "1h"
mode = "rename"

[shipper.spot]
provider = "auto"
endpoint = "http://169.254.169.254"

[[parser.patterns]]
name = "myapp"
regex = '^(?P<timestamp>\S+) (?P<level>\w+) (?P<message>.*)$'
timezone = "+02:00"

[indexer]
listen = "127.0.0.1:7700"
commit_interval = "1s"
retention = "30d"

[archive]
url = "s3://bucket/logs"
endpoint = "http://127.0.0.1:9000"
force_path_style = true
"#;
    let config = load_str(text, "design.toml", &env).expect("the design example is valid");
    assert_eq!(config.host, "web-1");
    assert_eq!(config.queue.shards, 4);
    assert_eq!(
        config.queue.url.expose(),
        "amqp://guest:s3cr3t-pass@127.0.0.1:5672/%2f"
    );
    assert_eq!(config.shipper.rotate.max_bytes, Some(ByteSize::mib(100)));
    assert_eq!(config.shipper.spot.provider, SpotProvider::Auto);
    assert_eq!(
        config.archive_target(),
        ArchiveTarget::S3 {
            bucket: "bucket".into(),
            prefix: "logs".into()
        }
    );
    let multiline = config.shipper.sources[0]
        .multiline
        .as_ref()
        .expect("multiline set");
    assert!(
        multiline
            .start
            .as_ref()
            .expect("start")
            .regex()
            .is_match("2024-01-02 x")
    );

    let rendered = config.to_redacted_toml();
    assert!(!rendered.contains("s3cr3t-pass"), "{rendered}");
    assert!(
        rendered.contains("amqp://guest:***@127.0.0.1:5672/%2f"),
        "{rendered}"
    );
}

#[test]
fn rendered_config_reads_back_the_same() {
    // No password in the URL: a redacted one would not read back the same.
    let text = "host = \"h\"\n[queue]\nurl = \"amqp://127.0.0.1:5672/%2f\"\n[shipper]\nbuffer_bytes = \"64MiB\"\n[[shipper.sources]]\nname = \"a\"\npaths = [\"/x/*.log\"]\nmultiline = { continuation = '^\\s' }\n";
    let config = load_str(text, "x", &env).expect("valid");
    let rendered = config.to_redacted_toml();
    let again = load_str(&rendered, "rendered", &env).expect("the rendering is valid config");
    assert_eq!(again, config);
}

#[test]
fn secrets_are_redacted_in_the_rendering() {
    let text = "[indexer]\ntoken = \"tok-123\"\n[archive]\naccess_key_id = \"AKIA1\"\nsecret_access_key = \"sk-xyz\"\n";
    let rendered = load_str(text, "x", &env).expect("valid").to_redacted_toml();
    for secret in ["tok-123", "AKIA1", "sk-xyz", "guest:guest"] {
        assert!(
            !rendered.contains(secret),
            "{secret} leaked in:\n{rendered}"
        );
    }
    assert!(rendered.contains("token = \"***\""), "{rendered}");
}

#[test]
fn unknown_key_names_file_line_column_and_key() {
    let located = error_of("[queue]\nkind = \"memory\"\nshardz = 2\n");
    assert_eq!(position(&located), (Some(3), Some(1), Some("queue.shardz")));
    assert!(
        located.message.contains("unknown field `shardz`"),
        "{}",
        located.message
    );
    assert_eq!(
        located.to_string().lines().next(),
        Some(
            "test.toml:3:1: key `queue.shardz`: unknown field `shardz`, expected one of `kind`, `url`, `prefix`, `shards`, `prefetch`, `max_length`, `max_length_bytes`, `disk_max_bytes`, `memory_max_bytes`, `confirm_timeout`, `reconnect_min`, `reconnect_max`"
        )
    );
}

#[test]
fn unknown_top_level_key() {
    let located = error_of("colour = true\n");
    assert_eq!(position(&located), (Some(1), Some(1), Some("colour")));
}

#[test]
fn wrong_type_points_at_the_value() {
    let located = error_of("[queue]\nshards = \"many\"\n");
    assert_eq!(
        position(&located),
        (Some(2), Some(10), Some("queue.shards"))
    );
}

#[test]
fn bad_size_and_duration_point_at_the_value() {
    let located = error_of(
        "[[shipper.sources]]\nname = \"a\"\npaths = [\"/x\"]\nmax_line_bytes = \"1 parsec\"\n",
    );
    assert_eq!(
        position(&located),
        (Some(4), Some(18), Some("shipper.sources[0].max_line_bytes"))
    );
    assert!(
        located.message.contains("unknown unit"),
        "{}",
        located.message
    );

    let located = error_of("[indexer]\ncommit_interval = 5\n");
    assert_eq!(
        position(&located),
        (Some(2), Some(19), Some("indexer.commit_interval"))
    );
    assert!(
        located.message.contains("needs a unit"),
        "{}",
        located.message
    );
}

#[test]
fn bad_enum_lists_the_choices() {
    let located = error_of("[shipper.rotate]\nmode = \"shred\"\n");
    assert_eq!(
        position(&located),
        (Some(2), Some(8), Some("shipper.rotate.mode"))
    );
    assert!(
        located
            .message
            .contains("expected `rename` or `copytruncate`"),
        "{}",
        located.message
    );
}

#[test]
fn bad_regex_in_second_pattern() {
    let text = "[[parser.patterns]]\nname = \"a\"\nregex = '(?P<m>.*)'\n\n[[parser.patterns]]\nname = \"b\"\nregex = '(?P<m>'\n";
    let located = error_of(text);
    assert_eq!(
        position(&located),
        (Some(7), Some(9), Some("parser.patterns[1].regex"))
    );
    assert!(
        located.message.contains("invalid regular expression"),
        "{}",
        located.message
    );
}

#[test]
fn validation_errors_point_at_their_key() {
    let located = error_of("[queue]\nkind = \"amqp\"\nurl = \"http://nope\"\n");
    assert_eq!(position(&located), (Some(3), Some(7), Some("queue.url")));

    let located = error_of(
        "[[shipper.sources]]\nname = \"a\"\npaths = [\"/x\"]\nformat = \"regex:missing\"\n",
    );
    assert_eq!(
        position(&located),
        (Some(4), Some(10), Some("shipper.sources[0].format"))
    );
    assert!(
        located.message.contains("\"missing\""),
        "{}",
        located.message
    );

    let located = error_of("[indexer]\nlisten = \"0.0.0.0:7700\"\n");
    assert_eq!(
        position(&located),
        (Some(2), Some(10), Some("indexer.listen"))
    );
    assert!(
        located.message.contains("set indexer.token"),
        "{}",
        located.message
    );
}

/// A blank token would let anyone in while looking configured; one with
/// surrounding spaces matches no client.
#[test]
fn a_blank_or_padded_token_is_refused_where_it_is_written() {
    for (text, words) in [
        (
            "[indexer]\nlisten = \"0.0.0.0:7700\"\ntoken = \" \"\n",
            "blank",
        ),
        ("[indexer]\ntoken = \"\"\n", "blank"),
        ("[indexer]\ntoken = \" s3cret \"\n", "white space"),
    ] {
        let located = error_of(text);
        let (line, _, key) = position(&located);
        assert_eq!(key, Some("indexer.token"), "{text}");
        assert!(line.is_some(), "{text}");
        assert!(located.message.contains(words), "{}", located.message);
        assert!(!located.message.contains("s3cret"), "{}", located.message);
        let shown = ConfigError::Invalid(Box::new(located)).to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}

/// Errors quote the offending line: never with a secret in it.
#[test]
fn error_snippets_never_show_secrets() {
    for text in [
        "[queue]\nurl = \"amqp://u:pw-one@h/v\"\nurl = \"amqp://u:pw-two@h/v\"\n",
        "[indexer]\ntoken = 7\n",
        "[archive]\nsecret_access_key = [\"pw-one\"]\n",
        "[indexer]\nshard_urls = \"http://u:pw-one@h:7700\"\n",
    ] {
        let shown = load_str(text, "test.toml", &env)
            .expect_err("invalid")
            .to_string();
        assert!(
            !shown.contains("pw-one") && !shown.contains("pw-two"),
            "{shown}"
        );
        assert!(shown.contains("test.toml:"), "{shown}");
    }
}

#[test]
fn object_lock_is_checked_where_it_is_written() {
    let config = load_str(
        "[archive]\nurl = \"s3://logs\"\nobject_lock = { mode = \"compliance\", days = 365 }\n",
        "x",
        &env,
    )
    .expect("valid");
    assert_eq!(
        config.archive.object_lock,
        Some(crate::ObjectLockConfig {
            mode: crate::LockMode::Compliance,
            days: 365
        })
    );
    let located = error_of(
        "[archive]\nurl = \"s3://logs\"\nobject_lock = { mode = \"governance\", days = 0 }\n",
    );
    assert_eq!(position(&located).2, Some("archive.object_lock.days"));
    let located = error_of("[archive]\nobject_lock = { mode = \"governance\", days = 1 }\n");
    assert_eq!(position(&located).2, Some("archive.object_lock"));
    assert!(located.message.contains("s3://"), "{}", located.message);
    let located = error_of(
        "[archive]\nurl = \"s3://logs\"\nobject_lock = { mode = \"forever\", days = 1 }\n",
    );
    assert!(
        located.message.contains("governance"),
        "{}",
        located.message
    );
}

#[test]
fn positions_survive_interpolation() {
    // The substituted value is longer than `${LONGVALUE}`; the error after it on
    // the same line must still point at the original column.
    let text = "host = \"${LONGVALUE}\"\n[queue]\nprefix = \"${LONGVALUE}\" \nshards = 0\n";
    let located = error_of(text);
    assert_eq!(
        position(&located),
        (Some(4), Some(10), Some("queue.shards"))
    );
    let located = error_of("[queue] \nprefix = \"${LONGVALUE}\"\nshards = \"x\"  # ${LONGVALUE}\n");
    assert_eq!(
        position(&located),
        (Some(3), Some(10), Some("queue.shards"))
    );
}

#[test]
fn missing_variable_names_it_and_its_position() {
    let located = error_of("[queue]\nurl = \"amqp://u:${NOT_SET}@h/\"\n");
    assert_eq!((located.line, located.column), (Some(2), Some(17)));
    assert!(
        located.message.contains("NOT_SET is not set"),
        "{}",
        located.message
    );
}

#[test]
fn syntax_error_has_a_position() {
    let located = error_of("[queue\nkind = 1\n");
    assert_eq!(located.line, Some(1));
    assert!(located.column.is_some());
}

#[test]
fn display_shows_the_offending_line_with_a_caret() {
    let error = load_str("[queue]\nshards = 0\n", "f.toml", &env).expect_err("invalid");
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "2 | shards = 0");
    assert_eq!(lines[2], "  |          ^");
}

#[test]
fn unreadable_file_names_the_path() {
    let error = load_file(Path::new("/nonexistent/loghaul.toml")).expect_err("missing file");
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/loghaul.toml: cannot read config file"),
        "{error}"
    );
}

#[test]
fn a_role_run_apart_refuses_the_memory_queue() {
    use crate::{Role, load_str_as};
    let env = |_: &str| None;
    let written = "[queue]\nkind = \"memory\"\n";
    for role in [Role::Shipper, Role::Parser, Role::Indexer] {
        let error = load_str_as(written, "f.toml", &env, role)
            .expect_err("refused")
            .to_string();
        assert!(error.starts_with("f.toml:2:"), "{error}");
        assert!(error.contains("key `queue.kind`"), "{error}");
        assert!(error.contains("queue.kind is memory"), "{error}");
    }
    // Left out, disk is the default, and refused as well, by key.
    let error = load_str_as("", "g.toml", &env, Role::Shipper)
        .expect_err("refused")
        .to_string();
    assert!(error.contains("key `queue.kind`"), "{error}");
    assert!(error.contains("queue.kind is disk"), "{error}");
    assert!(error.contains("loghaul ship"), "{error}");
    // Together in one process, memory is fine; apart, AMQP is.
    assert!(load_str_as(written, "f.toml", &env, Role::All).is_ok());
    assert!(load_str_as("[queue]\nkind = \"amqp\"\n", "f.toml", &env, Role::Shipper).is_ok());
}
