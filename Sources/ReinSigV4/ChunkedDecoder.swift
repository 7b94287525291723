import ReinCrypto

/// An incremental decoder for `Content-Encoding: aws-chunked` bodies.
///
/// Feed it bytes as they arrive; it returns whole chunks only after their
/// signatures verify, and throws at the first bad chunk, so unverified data
/// is never released. Memory is bounded by one chunk (`maxChunkSize`),
/// whatever the object size.
public struct ChunkedDecoder {
    public enum Event: Sendable, Equatable {
        /// One verified chunk of object data (never empty).
        case chunk([UInt8])
        /// The trailer headers (checksums), verified when the mode signs them.
        /// The trailer signature itself is not included.
        case trailers([HTTPHeader])
        /// The body is complete and every signature verified.
        case end
    }

    private enum State {
        case chunkHeader
        case chunkData(remaining: Int, signature: String?)
        case chunkDataEnd(signature: String?)
        case trailer
        case finalCRLF
        case done
    }

    public let mode: PayloadMode
    private var chain: ChunkSignatureChain?
    private let declaredTrailers: Set<String>
    private let decodedLength: Int64?
    private let maxChunkSize: Int
    private let maxLineLength = 4096
    private let maxTrailerBytes = 16 * 1024

    private var state: State = .chunkHeader
    private var line: [UInt8] = []
    private var chunk: [UInt8] = []
    private var trailers: [HTTPHeader] = []
    private var trailerBytes = 0
    private var trailerSignature: String?
    private let hasher = SHA256Hasher()
    public private(set) var decodedBytes: Int64 = 0
    public private(set) var chunkCount = 0

    /// - Parameters:
    ///   - chain: the agent's signature chain; required for signed modes.
    ///   - declaredTrailers: names from `x-amz-trailer` (lower case).
    ///   - decodedLength: `x-amz-decoded-content-length`, checked at the end.
    public init(mode: PayloadMode, chain: ChunkSignatureChain?, declaredTrailers: [String] = [],
                decodedLength: Int64? = nil, maxChunkSize: Int = 16 * 1024 * 1024) {
        self.mode = mode
        self.chain = chain
        self.declaredTrailers = Set(declaredTrailers.map { ASCII.lowercased(String(ASCII.trimmed(Substring($0)))) })
        self.decodedLength = decodedLength
        self.maxChunkSize = maxChunkSize
    }

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes bytes; returns the events they complete.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(SigV4Error) -> [Event] {
        var events: [Event] = []
        var i = 0
        let n = bytes.count
        while i < n {
            switch state {
            case .done:
                throw malformed("data follows the end of the aws-chunked body")
            case .chunkData(let remaining, let signature):
                let take = min(remaining, n - i)
                chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
                i += take
                state = remaining == take ? .chunkDataEnd(signature: signature) : .chunkData(remaining: remaining - take, signature: signature)
            case .chunkDataEnd:
                guard try readLine(bytes, &i) else { continue }
                guard line.isEmpty else { throw malformed("chunk data is longer than its declared size") }
                try finishChunk(&events)
            case .chunkHeader:
                guard try readLine(bytes, &i) else { continue }
                try startChunk(&events)
            case .trailer:
                guard try readLine(bytes, &i) else { continue }
                if line.isEmpty { try finishTrailer(&events) } else { try addTrailer() }
            case .finalCRLF:
                guard try readLine(bytes, &i) else { continue }
                guard line.isEmpty else { throw malformed("expected the blank line that ends the aws-chunked body") }
                try finishBody(&events)
            }
        }
        return events
    }

    public mutating func feed(_ bytes: [UInt8]) throws(SigV4Error) -> [Event] {
        var result: Result<[Event], SigV4Error> = .success([])
        bytes.withUnsafeBytes { raw in
            do throws(SigV4Error) { result = .success(try feed(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Call at end of input: throws unless the body was complete.
    public func finish() throws(SigV4Error) {
        guard isComplete else { throw malformed("the aws-chunked body ended before its final chunk") }
    }

    // MARK: - Steps

    /// Accumulates up to LF; returns true with `line` set (CR stripped) when a line is complete.
    private mutating func readLine(_ bytes: UnsafeRawBufferPointer, _ i: inout Int) throws(SigV4Error) -> Bool {
        if case .chunkDataEnd = state {} else if case .chunkHeader = state {} else {}
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == 0x0A {
                guard line.last == 0x0D else { throw malformed("aws-chunked lines must end with CRLF") }
                line.removeLast()
                return true
            }
            line.append(b)
            guard line.count <= maxLineLength else { throw malformed("an aws-chunked header line is too long") }
        }
        return false
    }

    private mutating func startChunk(_ events: inout [Event]) throws(SigV4Error) {
        defer { line.removeAll(keepingCapacity: true) }
        let semicolon = line.firstIndex(of: UInt8(ascii: ";")) ?? line.endIndex
        let sizeHex = line[..<semicolon]
        guard !sizeHex.isEmpty, sizeHex.count <= 16, let size = Int(String(decoding: sizeHex, as: UTF8.self), radix: 16) else {
            throw malformed("invalid aws-chunked chunk size")
        }
        guard size <= maxChunkSize else {
            throw malformed("an aws-chunked chunk of \(size) bytes exceeds the \(maxChunkSize)-byte limit")
        }
        var signature: String?
        if mode.hasChunkSignatures {
            let prefix = Array(";chunk-signature=".utf8)
            let ext = Array(line[semicolon...])
            guard ext.count == prefix.count + 64, ext.starts(with: prefix) else {
                throw malformed("each chunk must carry ;chunk-signature=<64 hex digits>")
            }
            signature = String(decoding: ext[prefix.count...], as: UTF8.self)
        } else if semicolon != line.endIndex {
            throw malformed("chunk extensions are not allowed in \(mode.name)")
        }
        chunk.removeAll(keepingCapacity: true)
        chunk.reserveCapacity(size)
        state = size == 0 ? .chunkDataEnd(signature: signature) : .chunkData(remaining: size, signature: signature)
        if size == 0 {
            // The final chunk has no data and no CRLF of its own: what follows
            // is the trailer section (or the closing blank line).
            try verifyChunk(signature)
            chunkCount += 1
            state = mode.hasTrailer ? .trailer : .finalCRLF
        }
    }

    private mutating func finishChunk(_ events: inout [Event]) throws(SigV4Error) {
        guard case .chunkDataEnd(let signature) = state else { return }
        try verifyChunk(signature)
        decodedBytes += Int64(chunk.count)
        chunkCount += 1
        events.append(.chunk(chunk))
        chunk = []
        state = .chunkHeader
    }

    private mutating func verifyChunk(_ signature: String?) throws(SigV4Error) {
        guard mode.hasChunkSignatures else { return }
        guard var c = chain, let signature else {
            throw SigV4Error(.chunkSignatureMismatch, "no signing chain to verify aws-chunked signatures")
        }
        hasher.update(chunk)
        let expected = c.nextChunkSignature(dataDigest: hasher.finalize())
        chain = c
        guard ConstantTime.equals(expected, signature) else {
            throw SigV4Error(.chunkSignatureMismatch,
                "The signature of aws-chunked chunk \(chunkCount + 1) does not match; the upload was altered or signed with another key")
        }
    }

    private mutating func addTrailer() throws(SigV4Error) {
        trailerBytes += line.count
        guard trailerBytes <= maxTrailerBytes else { throw malformed("the aws-chunked trailer is too large") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            throw malformed("a trailer line is not of the form name:value")
        }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        let header = HTTPHeader(name, String(ASCII.trimmed(Substring(value))))
        if header.lowercasedName == "x-amz-trailer-signature" {
            guard mode == .streamingSignedTrailer, trailerSignature == nil else {
                throw malformed("unexpected x-amz-trailer-signature")
            }
            trailerSignature = header.value
            return
        }
        guard trailerSignature == nil else { throw malformed("trailers follow x-amz-trailer-signature") }
        guard declaredTrailers.contains(header.lowercasedName) else {
            throw malformed("trailer '\(header.lowercasedName)' was not declared in x-amz-trailer")
        }
        guard !trailers.contains(where: { $0.lowercasedName == header.lowercasedName }) else {
            throw malformed("trailer '\(header.lowercasedName)' appears twice")
        }
        trailers.append(header)
    }

    private mutating func finishTrailer(_ events: inout [Event]) throws(SigV4Error) {
        let missing = declaredTrailers.subtracting(trailers.map(\.lowercasedName))
        guard missing.isEmpty else { throw malformed("declared trailer(s) missing: \(missing.sorted().joined(separator: ", "))") }
        if mode == .streamingSignedTrailer {
            guard var c = chain, let received = trailerSignature else {
                throw SigV4Error(.chunkSignatureMismatch, "the trailer has no x-amz-trailer-signature")
            }
            let expected = c.trailerSignature(trailerDigest: SHA256.hash(ChunkSignatureChain.canonicalTrailer(trailers)))
            chain = c
            guard ConstantTime.equals(expected, received) else {
                throw SigV4Error(.chunkSignatureMismatch, "The aws-chunked trailer signature does not match; the trailer was altered")
            }
        }
        events.append(.trailers(trailers))
        try finishBody(&events)
    }

    private mutating func finishBody(_ events: inout [Event]) throws(SigV4Error) {
        if let decodedLength, decodedLength != decodedBytes {
            throw malformed("x-amz-decoded-content-length is \(decodedLength) but the chunks hold \(decodedBytes) bytes")
        }
        state = .done
        events.append(.end)
    }

    private func malformed(_ message: String) -> SigV4Error {
        SigV4Error(.malformedChunkedBody, message)
    }
}
