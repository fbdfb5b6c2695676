import HTTPTypes

typealias HTTPRequestMethod = HTTPRequest.Method
