import GRDB

/// The statements a spool commit group runs, looked up in GRDB's statement
/// cache once per group rather than once per record (each lookup hashes
/// the SQL text), and bound through the C API (``SQLiteRawStatement``).
struct GroupStatements {
    let begin: SQLiteRawStatement
    let commit: SQLiteRawStatement
    let rollback: SQLiteRawStatement
    let insertRecord: SQLiteRawStatement
    let deleteIntent: SQLiteRawStatement
    let insertIntent: SQLiteRawStatement

    init(_ db: Database) throws {
        begin = try SQLiteRawStatement("BEGIN IMMEDIATE", db: db, operation: "begin an audit spool commit")
        commit = try SQLiteRawStatement("COMMIT", db: db, operation: "commit audit records")
        rollback = try SQLiteRawStatement("ROLLBACK", db: db, operation: "roll back an audit spool commit")
        insertRecord = try SQLiteRawStatement("INSERT INTO records (seq, line) VALUES (?, ?)", db: db,
                                              operation: "spool a record")
        deleteIntent = try SQLiteRawStatement("DELETE FROM intents WHERE id = ?", db: db, operation: "complete an intent")
        insertIntent = try SQLiteRawStatement("INSERT INTO intents (record_id, line, created) VALUES (?, ?, ?)", db: db,
                                              operation: "spool an intent")
    }
}
