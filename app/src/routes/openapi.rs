use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use super::{health, posts};

#[derive(OpenApi)]
#[openapi(
    info(title = "foobar.com API", description = "The guestbook behind www.foobar.com."),
    paths(
        posts::create_post, posts::list_posts, posts::get_post,
        health::health, health::ready, health::version,
    ),
    tags((name = "posts", description = "Guestbook posts"),
         (name = "operations", description = "Health, readiness and version"))
)]
pub struct ApiDoc;

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
