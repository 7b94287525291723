extension ResolvedRequest {
    /// The message a denied agent's SDK shows: in AWS's own wording, naming
    /// the action, the resource and why, so the missing grant is obvious.
    public func denialMessage(action: String, resource: String, reason: String) -> String {
        "Rein: not authorized to perform: \(action) on resource: \(resource) because \(reason)"
    }

    /// The AWS-shaped AccessDenied answer for this request's protocol.
    public func accessDenied(action: String, resource: String, reason: String, requestId: String) -> AWSErrorResponse {
        AWSErrorResponse.accessDenied(
            protocol: self.protocol, signingName: signingName,
            message: denialMessage(action: action, resource: resource, reason: reason),
            requestId: requestId, jsonVersion: jsonVersion, service: service)
    }
}
