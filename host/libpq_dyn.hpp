#pragma once
// libpq, loaded on first use instead of linked. Linking it costs every hostsync process,
// whatever it does, ~16 ms at start on a small VM: libpq pulls in ~20 more shared
// libraries (Kerberos, LDAP, SASL, GnuTLS...). Most runs (Phase 2, the pipeline, the
// REPL) never talk to PostgreSQL, so only `db.open("postgres://...")` pays for it.
//
// Include this after <libpq-fe.h> (for the types), in the one file that calls libpq:
// each PQ* name below then resolves to the pointer loaded from libpq.so.5.
#include <libpq-fe.h>

#include <string>

namespace hostsync::libpq {

struct Api {
#define HOSTSYNC_PQ_FUNCTIONS(X)                                                                                      \
    X(PQclear) X(PQcmdTuples) X(PQconnectdb) X(PQconsumeInput) X(PQerrorMessage) X(PQexec) X(PQexecParams)          \
    X(PQexecPrepared) X(PQfinish) X(PQfname) X(PQfreemem) X(PQftype) X(PQgetisnull) X(PQgetlength) X(PQgetvalue)    \
    X(PQnfields) X(PQnotifies) X(PQntuples) X(PQprepare) X(PQresultErrorField) X(PQresultErrorMessage)              \
    X(PQresultStatus) X(PQsetClientEncoding) X(PQsetNoticeProcessor) X(PQsocket) X(PQstatus)                        \
    X(PQtransactionStatus) X(PQunescapeBytea)
#define HOSTSYNC_PQ_MEMBER(name) decltype(&::name) name = nullptr;
    HOSTSYNC_PQ_FUNCTIONS(HOSTSYNC_PQ_MEMBER)
#undef HOSTSYNC_PQ_MEMBER
};

// Loads libpq once (thread-safe). False with a message if it cannot be loaded.
bool load(std::string& err);

// The loaded functions; only valid after load() returned true.
const Api& api();

}  // namespace hostsync::libpq

#ifndef HOSTSYNC_LIBPQ_DYN_IMPL
#define HOSTSYNC_PQ_REDIRECT(name) hostsync::libpq::api().name
#define PQclear HOSTSYNC_PQ_REDIRECT(PQclear)
#define PQcmdTuples HOSTSYNC_PQ_REDIRECT(PQcmdTuples)
#define PQconnectdb HOSTSYNC_PQ_REDIRECT(PQconnectdb)
#define PQconsumeInput HOSTSYNC_PQ_REDIRECT(PQconsumeInput)
#define PQerrorMessage HOSTSYNC_PQ_REDIRECT(PQerrorMessage)
#define PQexec HOSTSYNC_PQ_REDIRECT(PQexec)
#define PQexecParams HOSTSYNC_PQ_REDIRECT(PQexecParams)
#define PQexecPrepared HOSTSYNC_PQ_REDIRECT(PQexecPrepared)
#define PQfinish HOSTSYNC_PQ_REDIRECT(PQfinish)
#define PQfname HOSTSYNC_PQ_REDIRECT(PQfname)
#define PQfreemem HOSTSYNC_PQ_REDIRECT(PQfreemem)
#define PQftype HOSTSYNC_PQ_REDIRECT(PQftype)
#define PQgetisnull HOSTSYNC_PQ_REDIRECT(PQgetisnull)
#define PQgetlength HOSTSYNC_PQ_REDIRECT(PQgetlength)
#define PQgetvalue HOSTSYNC_PQ_REDIRECT(PQgetvalue)
#define PQnfields HOSTSYNC_PQ_REDIRECT(PQnfields)
#define PQnotifies HOSTSYNC_PQ_REDIRECT(PQnotifies)
#define PQntuples HOSTSYNC_PQ_REDIRECT(PQntuples)
#define PQprepare HOSTSYNC_PQ_REDIRECT(PQprepare)
#define PQresultErrorField HOSTSYNC_PQ_REDIRECT(PQresultErrorField)
#define PQresultErrorMessage HOSTSYNC_PQ_REDIRECT(PQresultErrorMessage)
#define PQresultStatus HOSTSYNC_PQ_REDIRECT(PQresultStatus)
#define PQsetClientEncoding HOSTSYNC_PQ_REDIRECT(PQsetClientEncoding)
#define PQsetNoticeProcessor HOSTSYNC_PQ_REDIRECT(PQsetNoticeProcessor)
#define PQsocket HOSTSYNC_PQ_REDIRECT(PQsocket)
#define PQstatus HOSTSYNC_PQ_REDIRECT(PQstatus)
#define PQtransactionStatus HOSTSYNC_PQ_REDIRECT(PQtransactionStatus)
#define PQunescapeBytea HOSTSYNC_PQ_REDIRECT(PQunescapeBytea)
#endif
