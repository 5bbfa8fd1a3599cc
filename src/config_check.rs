//! `loghaul config check`: validate a file and print what it amounts to.

use std::io::Write;
use std::path::Path;

pub(crate) const HELP: &str = "\
Prints the effective configuration (the file with every default filled in and
${VAR} substituted) to stdout, with passwords, tokens and keys shown as ***.
An invalid file prints file:line:col, the key and what is wrong, and exits 2.

Example:
  loghaul config check -c /etc/loghaul/loghaul.toml";

pub(crate) fn check(path: &Path, json: bool) -> anyhow::Result<()> {
    let config = loghaul_config::load_file(path)?;
    let rendered = if json {
        let mut text = serde_json::to_string_pretty(&config.to_redacted_json())?;
        text.push('\n');
        text
    } else {
        config.to_redacted_toml()
    };
    std::io::stdout().write_all(rendered.as_bytes())?;
    eprintln!("{}: ok", path.display());
    Ok(())
}
