//! The connection URL the configuration builds, as libpq reads it.

use diesel::{Connection, PgConnection, RunQueryDsl};
use foobar_app::config::Config;
use secrecy::ExposeSecret;

use crate::helpers::test_server_url;

#[derive(diesel::QueryableByName)]
struct CurrentUser {
    #[diesel(sql_type = diesel::sql_types::Text)]
    current_user: String,
}

#[test]
fn a_password_file_and_several_hosts_make_a_url_libpq_connects_with() {
    let Some(server) = test_server_url() else {
        return;
    };
    let server = url::Url::parse(&server).unwrap();
    // The first host refuses at once; libpq goes on to the second, the test server.
    let several_hosts = format!(
        "postgres://{}@127.0.0.1:1,{}:{}{}?target_session_attrs=read-write",
        server.username(),
        server.host_str().unwrap(),
        server.port().unwrap_or(5432),
        server.path()
    );
    let file = std::env::temp_dir().join(format!("foobar-app-password-{}", std::process::id()));
    std::fs::write(&file, "p@ss:w/rd%41,#?&= +'\"\\[]é€\n").unwrap();
    let config = Config::from_vars([
        ("DATABASE_URL", several_hosts.as_str()),
        ("DATABASE_PASSWORD_FILE", file.to_str().unwrap()),
    ]);
    let _ = std::fs::remove_file(&file);
    let url = config.unwrap().database.url_with_connect_timeout();

    let mut conn = PgConnection::establish(url.expose_secret()).expect("libpq reads the URL");

    let user: CurrentUser = diesel::sql_query("SELECT current_user::text AS current_user")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(user.current_user, server.username());
}
