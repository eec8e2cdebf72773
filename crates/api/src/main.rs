//! Starts the support tracker's HTTP server.

use api::config::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::init_tracing();
    let settings = Settings::from_env()?;
    api::serve(settings).await
}
