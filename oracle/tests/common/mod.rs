//! Stores the oracle tests run against: SQLite always, and PostgreSQL when
//! GROUNDWORK_TEST_POSTGRES_URL names a server whose role may create databases (`.ci/run`
//! starts one; under CI=true its absence is an error, not a skip).

use sqlx::Connection;

/// `(label, store URL)` pairs, each a fresh empty database named after `test`.
pub async fn fresh_store_urls(test: &str) -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("groundwork-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}", dir.join("oracle.db").display()),
    )];
    match std::env::var("GROUNDWORK_TEST_POSTGRES_URL") {
        Ok(admin_url) => urls.push(("postgres", fresh_postgres_database(&admin_url, test).await)),
        Err(_) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!(
                "CI must set GROUNDWORK_TEST_POSTGRES_URL: the store is tested on PostgreSQL too"
            )
        }
        Err(_) => eprintln!("GROUNDWORK_TEST_POSTGRES_URL is not set: {test} runs on SQLite only"),
    }
    urls
}

/// Creates (or recreates) database `groundwork_<test>_<pid>` and returns its URL.
async fn fresh_postgres_database(admin_url: &str, test: &str) -> String {
    let name = format!(
        "groundwork_{}_{}",
        test.replace('-', "_"),
        std::process::id()
    );
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the PostgreSQL admin URL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("a database in the URL");
    format!("{base}/{name}")
}
