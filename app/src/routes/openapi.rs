use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::Modify;

use super::{auth, health, posts, session, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "foobar.com API", description = "The guestbook behind www.foobar.com."),
    paths(
        posts::create_post, posts::list_posts, posts::get_post, posts::delete_post,
        users::sign_up, users::user_posts,
        session::sign_in, session::sign_out, session::me, session::change_password,
        health::health, health::ready, health::version,
    ),
    modifiers(&SessionCookie),
    tags((name = "posts", description = "Guestbook posts"),
         (name = "accounts", description = "Sign up, sign in and out, the signed-in user"),
         (name = "operations", description = "Health, readiness and version"))
)]
pub struct ApiDoc;

/// The `session` security scheme: the cookie sign-in sets.
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::COOKIE,
                "Set by POST /api/users and POST /api/session; HttpOnly, SameSite=Lax",
            ))),
        );
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Rendered once: the description only changes with the code.
    let document = ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes");
    let serve = web::to(move || {
        let document = document.clone();
        async move {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(document)
        }
    });
    cfg.service(super::resource("/openapi.json", vec![(Method::GET, serve)]));
}
