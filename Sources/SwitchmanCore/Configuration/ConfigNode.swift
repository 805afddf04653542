import Yams

/// Where a configuration value came from, so an error can point at it.
enum ConfigOrigin: Equatable {
    /// A line of the configuration file (`nil` for an empty document).
    case file(line: Int?)
    /// An environment variable override.
    case environment(variable: String)
}

/// One `key: value` pair of a mapping, with where its key was written.
struct ConfigEntry {
    /// The key, as written.
    let key: String
    /// Where the key was written.
    let keyOrigin: ConfigOrigin
    /// Its value.
    var value: ConfigNode
}

/// The configuration as a tree of strings, before any value is interpreted.
///
/// The YAML file is turned into this tree first (with each node's line), then environment
/// overrides are written into it (with their variable as origin), then one decoder reads it: a value
/// from the file and one from the environment are checked by the same code.
indirect enum ConfigNode {
    /// A scalar; `isNull` for YAML's plain `~`, `null` or nothing, and for an empty variable.
    case scalar(String, isNull: Bool, origin: ConfigOrigin)
    /// A list.
    case sequence([ConfigNode], origin: ConfigOrigin)
    /// A mapping, its keys in document order.
    case mapping([ConfigEntry], origin: ConfigOrigin)

    /// Where this node came from.
    var origin: ConfigOrigin {
        switch self {
        case .scalar(_, _, let origin), .sequence(_, let origin), .mapping(_, let origin): origin
        }
    }

    /// How this value is named in a type error: `"abc"`, `nothing`, `a list`, `a mapping`.
    var shownValue: String {
        switch self {
        case .scalar(let text, let isNull, _): isNull ? "nothing" : "\"\(text)\""
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// The value of `key` when this node is a mapping.
    subscript(key: String) -> ConfigNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }
}

extension ConfigNode {
    /// Converts a Yams tree, rejecting what the decoder could not tell apart afterwards:
    /// keys that are not scalars and keys given twice in one mapping. Lines are capped at `lastLine`
    /// (``ConfigurationLoader/lastLine(of:)``).
    init(yaml node: Node, path: String, file: String, lastLine: Int) throws(ConfigurationError) {
        let origin = ConfigOrigin.file(line: node.mark.map { min($0.line, lastLine) })
        switch node {
        case .scalar(let scalar):
            let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
            self = .scalar(scalar.string, isNull: isNull, origin: origin)
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for (index, item) in sequence.enumerated() {
                items.append(try ConfigNode(yaml: item, path: "\(path)[\(index)]", file: file, lastLine: lastLine))
            }
            self = .sequence(items, origin: origin)
        case .mapping(let mapping):
            var entries: [ConfigEntry] = []
            var firstLine: [String: Int?] = [:]
            for (keyNode, valueNode) in mapping {
                let keyLine = keyNode.mark.map { min($0.line, lastLine) }
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ConfigurationError(
                        file: file, line: keyLine, key: path, message: "a key must be a plain word, not \(keyNode.shownKind)")
                }
                let key = keyScalar.string
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                if let first = firstLine[key] {
                    let at = first.map { " (first at line \($0))" } ?? ""
                    throw ConfigurationError(file: file, line: keyLine, key: keyPath, message: "key given twice\(at)")
                }
                firstLine[key] = keyLine
                let value = try ConfigNode(yaml: valueNode, path: keyPath, file: file, lastLine: lastLine)
                entries.append(ConfigEntry(key: key, keyOrigin: .file(line: keyLine), value: value))
            }
            self = .mapping(entries, origin: origin)
        }
    }
}

private extension Node {
    /// `a list` / `a mapping` / `a scalar`, for messages.
    var shownKind: String {
        switch self {
        case .sequence: "a list"
        case .mapping: "a mapping"
        default: "a scalar"
        }
    }
}
