//! `loghaul ui`: the web UI's address with the API token in its fragment,
//! for the user who can read the token file, so the page needs no pasting.

use std::path::PathBuf;

use crate::exit::BadInput;

pub(crate) const HELP: &str = "\
Prints the search UI's address with the API token in its fragment
(http://127.0.0.1:7700/#token=...). The page keeps the token for the tab and
takes it out of the address bar; a fragment never reaches the server or its
logs. The token is --token or LOGHAUL_TOKEN, else the file a `run` or an
`index` without indexer.token made: <data dir>/api-token, readable only by
the user loghaul runs as. Exits 2 when there is no token to be had.

Examples:
  loghaul ui
  loghaul ui --open
  xdg-open \"$(loghaul ui --data-dir /var/lib/loghaul)\"";

#[derive(clap::Args, Debug)]
pub(crate) struct UiArgs {
    /// The search API and UI [default: the address the server noted in
    /// <data dir>/api-address, else http://127.0.0.1:7700].
    #[arg(long, env = "LOGHAUL_SERVER", value_name = "URL")]
    server: Option<String>,
    /// The token [default: <data dir>/api-token].
    #[arg(
        long,
        env = "LOGHAUL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// The server's data directory, where it keeps api-token [default:
    /// loghaul-data, the data directory on defaults].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also open it with xdg-open.
    #[arg(long)]
    open: bool,
}

pub(crate) fn ui(args: UiArgs) -> anyhow::Result<()> {
    let token = crate::api_token::for_client(args.token.as_deref(), args.data_dir.as_deref())
        .ok_or_else(|| {
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(crate::api_token::default_data_dir);
            BadInput(format!(
                "no token: {} is missing or not readable by this user (pass --token, or --data-dir of the server)",
                crate::api_token::path(&dir).display()
            ))
        })?;
    let server =
        crate::api_token::server_for_client(args.server.as_deref(), args.data_dir.as_deref());
    let link = format!("{}/#token={token}", server.trim_end_matches('/'));
    #[allow(clippy::print_stdout)]
    {
        println!("{link}");
    }
    if args.open {
        let status = std::process::Command::new("xdg-open").arg(&link).status();
        if !status.is_ok_and(|status| status.success()) {
            anyhow::bail!("xdg-open could not open the link; open it yourself");
        }
    }
    Ok(())
}
