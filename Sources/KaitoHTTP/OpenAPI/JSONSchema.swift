import Foundation

/// JSON Schema fragments (draft 2020-12, as OpenAPI 3.1 uses it), built in code for the OpenAPI document.
///
/// Response objects are closed (`additionalProperties: false`) and list every field the server always writes as
/// required, so a contract test (schemathesis in `.ci/run`) notices a field that appears, disappears or changes type.
/// Request objects are closed too: the server refuses unknown fields with 422.
enum JSONSchema {
    typealias Object = [String: Any]

    static func string(
        _ description: String? = nil, format: String? = nil, pattern: String? = nil, values: [String]? = nil,
        minLength: Int? = nil, maxLength: Int? = nil
    ) -> Object {
        var schema: Object = ["type": "string"]
        schema["description"] = description
        schema["format"] = format
        schema["pattern"] = pattern
        schema["enum"] = values
        schema["minLength"] = minLength
        schema["maxLength"] = maxLength
        return schema
    }

    static func timestamp(_ description: String? = nil) -> Object {
        string(description ?? "RFC 3339, UTC", format: "date-time")
    }

    static func integer(_ description: String? = nil, minimum: Int? = nil, maximum: Int? = nil) -> Object {
        var schema: Object = ["type": "integer"]
        schema["description"] = description
        schema["minimum"] = minimum
        schema["maximum"] = maximum
        return schema
    }

    static func boolean(_ description: String? = nil) -> Object {
        var schema: Object = ["type": "boolean"]
        schema["description"] = description
        return schema
    }

    static func array(_ items: Object, description: String? = nil, maxItems: Int? = nil) -> Object {
        var schema: Object = ["type": "array", "items": items]
        schema["description"] = description
        schema["maxItems"] = maxItems
        return schema
    }

    /// A closed object. `required` defaults to every property (a response whose fields are always written).
    static func object(_ properties: [String: Object], required: [String]? = nil, description: String? = nil) -> Object {
        var schema: Object = [
            "type": "object", "properties": properties, "additionalProperties": false,
            "required": (required ?? Array(properties.keys)).sorted(),
        ]
        schema["description"] = description
        return schema
    }

    /// The same schema, or JSON null.
    static func nullable(_ schema: Object) -> Object {
        if let type = schema["type"] as? String {
            var copy = schema
            copy["type"] = [type, "null"]
            if let values = copy["enum"] as? [String] { copy["enum"] = values.map { $0 as Any } + [NSNull()] }
            return copy
        }
        return ["anyOf": [schema, ["type": "null"]]]
    }

    static func ref(_ component: String) -> Object {
        ["$ref": "#/components/schemas/\(component)"]
    }

    /// A page of a list: `{"data": [...], "next_cursor": "..." | null}` (docs/api.md#pagination).
    static func list(of component: String) -> Object {
        object([
            "data": array(ref(component)),
            "next_cursor": nullable(string("Opaque; pass as ?cursor= for the next page. Null on the last page.")),
        ])
    }
}
