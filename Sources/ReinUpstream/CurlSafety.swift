import CReinCurl

/// The options every Rein libcurl handle carries, blocking or streaming, in
/// one place so the two clients cannot drift apart.
enum CurlSafety {
    /// Never the environment's proxy (the agent must not re-route Rein),
    /// http and https only, no redirects, no signals, TLS always verified.
    static func apply(_ handle: UnsafeMutableRawPointer, caBundlePath: String?) -> CURLcode {
        var code = CURLE_OK
        func set(_ c: CURLcode) { if code == CURLE_OK { code = c } }
        set(CReinCurl_setopt_string(handle, CURLOPT_PROXY, ""))
        set(CReinCurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(CReinCurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        set(CReinCurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(CReinCurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(CReinCurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        set(CReinCurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        if let caBundlePath { set(CReinCurl_setopt_string(handle, CURLOPT_CAINFO, caBundlePath)) }
        return code
    }
}
