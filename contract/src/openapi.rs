//! OpenAPI schemas the derive cannot write: the asset policy's bodies, whose fields are the
//! core's `AssetPolicy` (serialised as it is; a test below holds the two together).

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, schema};

use crate::playback::{PolicyUpdate, PolicyView};

fn strings(description: &str) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
}

/// The policy's own fields, as `AssetPolicy` serialises them.
fn policy_fields() -> ObjectBuilder {
    ObjectBuilder::new()
        .property(
            "visibility",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["public", "unlisted", "private"]))
                .description(Some(
                    "public and unlisted play without a token; private needs one",
                )),
        )
        .property(
            "allowed_origins",
            strings(
                "Pages that may embed the asset (host, *.host, or scheme://host:port); empty: any",
            ),
        )
        .property(
            "allowed_ips",
            strings("Client networks (CIDR or address) that may play it; empty: any"),
        )
        .property(
            "allowed_countries",
            strings("ISO 3166-1 alpha-2 countries it may be played in; empty: any"),
        )
        .property(
            "download_allowed",
            ObjectBuilder::new().schema_type(SchemaType::new(Type::Boolean)),
        )
}

impl utoipa::PartialSchema for PolicyView {
    fn schema() -> RefOr<Schema> {
        policy_fields()
            .property(
                "password_required",
                ObjectBuilder::new().schema_type(Type::Boolean),
            )
            .property(
                "password_set",
                ObjectBuilder::new().schema_type(Type::Boolean),
            )
            .required("visibility")
            .required("password_set")
            .description(Some("An asset's playback policy (never its password)."))
            .into()
    }
}

impl utoipa::ToSchema for PolicyView {}

impl utoipa::PartialSchema for PolicyUpdate {
    fn schema() -> RefOr<Schema> {
        policy_fields()
            .property(
                "password",
                ObjectBuilder::new()
                    .schema_type(schema::SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("Sets a password; empty or null removes it")),
            )
            .additional_properties(Some(schema::AdditionalProperties::FreeForm(false)))
            .description(Some(
                "PUT: the whole policy (absent fields take their defaults); PATCH: the fields given.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for PolicyUpdate {}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    fn properties(schema: RefOr<Schema>) -> Vec<String> {
        let RefOr::T(Schema::Object(o)) = schema else {
            panic!("an object schema")
        };
        o.properties.keys().cloned().collect()
    }

    #[test]
    fn the_policy_schemas_name_the_policy_fields() {
        let wire = serde_json::to_value(cinelock_core::policy::AssetPolicy::default()).unwrap();
        let mut fields: Vec<String> = wire.as_object().unwrap().keys().cloned().collect();
        fields.push("password_set".into());
        fields.sort();
        assert_eq!(properties(PolicyView::schema()), fields);
        fields.retain(|f| f != "password_set" && f != "password_required");
        fields.push("password".into());
        fields.sort();
        assert_eq!(properties(PolicyUpdate::schema()), fields);
    }
}
