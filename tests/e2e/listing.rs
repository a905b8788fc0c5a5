//! `tools/list`: names, order, descriptions and the schema of every WIT type mapping.

use serde_json::{Value, json};

use crate::support::{client, manifest};

#[tokio::test]
async fn lists_every_export_in_name_order_with_derived_schemas() {
    let manifest = manifest(&[("echo", "echo"), ("text", "text")], "");
    let client = client(&manifest).await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "echo_area",
            "echo_classify",
            "echo_divide",
            "echo_echo",
            "echo_greet",
            "echo_integers",
            "echo_maybe_double",
            "echo_pairs",
            "echo_ping",
            "echo_scalars",
            "text_count",
            "text_replace",
            "text_search",
        ]
    );
    let tool = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        serde_json::to_value(tool).unwrap()
    };

    let echo = tool("echo_echo");
    assert_eq!(echo["description"], "Return the message unchanged.");
    assert_eq!(
        echo["inputSchema"],
        json!({"type": "object", "properties": {"message": {"type": "string"}},
               "required": ["message"], "additionalProperties": false})
    );
    assert_eq!(
        echo["outputSchema"],
        json!({"type": "object", "properties": {"result": {"type": "string"}},
               "required": ["result"], "additionalProperties": false})
    );

    // Integers carry their type's bounds.
    let integers = tool("echo_integers");
    let props = &integers["inputSchema"]["properties"];
    assert_eq!(
        props["a"],
        json!({"type": "integer", "minimum": 0, "maximum": 255})
    );
    assert_eq!(
        props["b"],
        json!({"type": "integer", "minimum": -128, "maximum": 127})
    );
    assert_eq!(props["g"]["maximum"], json!(u64::MAX));
    assert_eq!(props["h"]["minimum"], json!(i64::MIN));
    // A record result is the output schema itself.
    assert_eq!(
        integers["outputSchema"]["required"],
        json!(["a", "b", "c", "d", "e", "f", "g", "h"])
    );

    // Floats, bools and chars; a tuple result is wrapped.
    let scalars = tool("echo_scalars");
    assert_eq!(
        scalars["inputSchema"]["properties"]["x"],
        json!({"type": "number"})
    );
    assert_eq!(
        scalars["inputSchema"]["properties"]["flag"],
        json!({"type": "boolean"})
    );
    assert_eq!(
        scalars["inputSchema"]["properties"]["letter"],
        json!({"type": "string", "minLength": 1, "maxLength": 1})
    );
    let tuple = &scalars["outputSchema"]["properties"]["result"];
    assert_eq!(tuple["minItems"], 4);
    assert_eq!(tuple["items"], false);
    assert_eq!(tuple["prefixItems"][3]["maxLength"], 1);

    // Records: option fields are optional; enums, flags, lists; docs become descriptions.
    let greet = tool("echo_greet");
    let person = &greet["inputSchema"]["properties"]["person"];
    assert_eq!(person["description"], "A person to greet.");
    assert_eq!(person["additionalProperties"], false);
    assert_eq!(
        person["required"],
        json!(["name", "age", "favourite", "perms", "tags"])
    );
    assert_eq!(person["properties"]["email"]["type"], "string");
    assert_eq!(
        person["properties"]["email"]["description"],
        "Email address, if known."
    );
    assert_eq!(
        person["properties"]["favourite"],
        json!({"type": "string", "enum": ["red", "green", "blue"], "description": "Favourite colour."})
    );
    assert_eq!(person["properties"]["perms"]["uniqueItems"], true);
    assert_eq!(
        person["properties"]["perms"]["items"]["enum"],
        json!(["read", "write", "execute"])
    );
    assert_eq!(
        person["properties"]["tags"]["items"],
        json!({"type": "string"})
    );
    assert_eq!(
        greet["outputSchema"]["required"],
        json!(["message", "perms", "favourite"])
    );

    // An option parameter is optional; an option result is T or null.
    let maybe = tool("echo_maybe_double");
    assert_eq!(maybe["inputSchema"]["required"], json!([]));
    assert_eq!(
        maybe["outputSchema"]["properties"]["result"]["anyOf"][1],
        json!({"type": "null"})
    );

    // Variants: bare cases as strings, payload cases as single-key objects.
    let area = tool("echo_area");
    let shape = &area["inputSchema"]["properties"]["shape"];
    assert_eq!(
        shape["oneOf"][0],
        json!({"type": "string", "enum": ["point"]})
    );
    assert_eq!(shape["oneOf"][1]["required"], json!(["circle"]));
    assert_eq!(
        shape["oneOf"][2]["properties"]["square"],
        json!({"type": "number"})
    );

    // result<T, E>: the output schema is T's.
    let divide = tool("echo_divide");
    assert_eq!(
        divide["outputSchema"]["properties"]["result"]["type"],
        "integer"
    );

    // A function with no parameters and no result.
    let ping = tool("echo_ping");
    assert_eq!(ping["inputSchema"]["properties"], json!({}));
    assert_eq!(ping.get("outputSchema"), None);

    // Functions of an exported interface are tools too, with their docs.
    let search = tool("text_search");
    assert_eq!(
        search["description"],
        "Find every match of a regular expression (Rust `regex` syntax) in a text."
    );
    let found = &search["outputSchema"]["properties"]["result"]["items"];
    assert_eq!(found["required"], json!(["line", "start", "end", "text"]));
    let count = tool("text_count");
    assert_eq!(
        count["outputSchema"]["properties"]["words"]["type"],
        "integer"
    );
    assert_eq!(
        count["outputSchema"]["properties"]["lines"]["description"],
        Value::String("Lines (a final line without a newline counts).".into())
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn manifest_overrides_descriptions_and_names() {
    let manifest = manifest(
        &[("echo", "echo")],
        "[components.echo.tools.echo]\ndescription = \"Say it back.\"\nname = \"say-it\"\n",
    );
    let client = client(&manifest).await;
    let tools = client.list_all_tools().await.unwrap();
    let say = tools
        .iter()
        .find(|t| t.name == "echo_say_it")
        .expect("renamed");
    assert_eq!(say.description.as_deref(), Some("Say it back."));
    assert!(!tools.iter().any(|t| t.name == "echo_echo"));
    let result = crate::support::call(&client, "echo_say_it", json!({"message": "hi"})).await;
    assert_eq!(crate::support::text(&result), "hi");
    client.cancel().await.unwrap();
}
