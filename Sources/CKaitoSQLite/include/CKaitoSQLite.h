// The few functions of SQLite's C API that Kaito's SQLite writer calls directly (SQLiteAppender.swift).
//
// They are the functions of the one copy of SQLite in the binary: the copy that vapor/sqlite-nio builds and links,
// whose symbols carry the `sqlite_nio_` prefix so that they clash with no other SQLite. Declaring them here (sqlite-nio
// does not export its header) keeps a single SQLite in the process, which matters: SQLite's POSIX locks are kept per
// copy of the library, and two copies opening one database file could release each other's locks. If a release of
// sqlite-nio renamed them, the link would fail; nothing can bind to another library at run time.
#ifndef CKAITO_SQLITE_H
#define CKAITO_SQLITE_H

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

#define KAITO_SQLITE_OK 0
#define KAITO_SQLITE_ROW 100
#define KAITO_SQLITE_DONE 101
#define KAITO_SQLITE_NULL 5
#define KAITO_SQLITE_OPEN_READWRITE 0x00000002
#define KAITO_SQLITE_OPEN_CREATE 0x00000004
#define KAITO_SQLITE_OPEN_NOMUTEX 0x00008000
#define KAITO_SQLITE_PREPARE_PERSISTENT 0x01

int sqlite_nio_sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite_nio_sqlite3_close_v2(sqlite3 *db);
int sqlite_nio_sqlite3_busy_timeout(sqlite3 *db, int milliseconds);
int sqlite_nio_sqlite3_exec(sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *argument, char **error);
int sqlite_nio_sqlite3_prepare_v3(sqlite3 *db, const char *sql, int length, unsigned int flags, sqlite3_stmt **statement, const char **tail);
int sqlite_nio_sqlite3_bind_int64(sqlite3_stmt *statement, int index, long long value);
int sqlite_nio_sqlite3_bind_text(sqlite3_stmt *statement, int index, const char *text, int length, void (*destructor)(void *));
int sqlite_nio_sqlite3_bind_null(sqlite3_stmt *statement, int index);
int sqlite_nio_sqlite3_bind_double(sqlite3_stmt *statement, int index, double value);
int sqlite_nio_sqlite3_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int length, void (*destructor)(void *));
int sqlite_nio_sqlite3_step(sqlite3_stmt *statement);
int sqlite_nio_sqlite3_reset(sqlite3_stmt *statement);
int sqlite_nio_sqlite3_clear_bindings(sqlite3_stmt *statement);
int sqlite_nio_sqlite3_finalize(sqlite3_stmt *statement);
long long sqlite_nio_sqlite3_column_int64(sqlite3_stmt *statement, int column);
const unsigned char *sqlite_nio_sqlite3_column_text(sqlite3_stmt *statement, int column);
int sqlite_nio_sqlite3_column_type(sqlite3_stmt *statement, int column);
int sqlite_nio_sqlite3_column_count(sqlite3_stmt *statement);
const char *sqlite_nio_sqlite3_column_name(sqlite3_stmt *statement, int column);
double sqlite_nio_sqlite3_column_double(sqlite3_stmt *statement, int column);
const void *sqlite_nio_sqlite3_column_blob(sqlite3_stmt *statement, int column);
int sqlite_nio_sqlite3_column_bytes(sqlite3_stmt *statement, int column);
int sqlite_nio_sqlite3_extended_errcode(sqlite3 *db);
const char *sqlite_nio_sqlite3_errmsg(sqlite3 *db);
int sqlite_nio_sqlite3_changes(sqlite3 *db);
void sqlite_nio_sqlite3_free(void *pointer);

/// Binds a copy of `text` (SQLITE_TRANSIENT: SQLite copies it before returning).
static inline int kaito_sqlite_bind_text(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite_nio_sqlite3_bind_text(statement, index, text, length, (void (*)(void *))-1);
}

/// Binds a copy of `length` bytes (SQLITE_TRANSIENT).
static inline int kaito_sqlite_bind_blob(sqlite3_stmt *statement, int index, const void *bytes, int length) {
    return sqlite_nio_sqlite3_bind_blob(statement, index, bytes, length, (void (*)(void *))-1);
}

#endif
