// Fuzz target: the JSON reader (host/json_reader.*), the canonicalizer
// (host/json_canonical.*), the writer and the RFC 8785 key order.
//
// Properties checked on every input (docs/api/json.md):
//  - the reader (with duplicate keys refused, as every handler does) and the
//    canonicalizer accept exactly the same texts;
//  - decode -> encode -> decode is the identity: the document written back by the
//    writer (compact and pretty) parses to an equal document, numbers included (the
//    shortest ECMAScript form of a double reads back as the same double);
//  - the canonical text is a fixed point (canonicalizing it again changes nothing), it
//    parses to the same document up to member order, and it equals the writer's compact
//    output of the document with members sorted by jcs::key_less;
//  - the fast key order (key_before) agrees with the UTF-16 one (jcs::key_less).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "jcs_string.hpp"
#include "json_canonical.hpp"
#include "json_key_order.hpp"
#include "json_reader.hpp"
#include "json_writer.hpp"

namespace {

namespace json = hostsync::json;

struct Value {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    bool b = false;
    double n = 0;
    std::string s;
    std::vector<Value> items;        // array elements, or object member values ...
    std::vector<std::string> keys;   // ... with their keys (objects only)
};

bool equal(const Value& a, const Value& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Value::Null: return true;
        case Value::Bool: return a.b == b.b;
        case Value::Number: return a.n == b.n;  // -0 == 0: ECMAScript writes both as 0
        case Value::String: return a.s == b.s;
        case Value::Array:
        case Value::Object:
            return a.keys == b.keys && a.items.size() == b.items.size() &&
                   std::equal(a.items.begin(), a.items.end(), b.items.begin(), equal);
    }
    return false;
}

// Builds a Value from the reader's events; refuses duplicate keys like every real handler.
class Builder final : public json::Handler {
  public:
    Value root;

    bool null_value() override { return add(Value{}); }
    bool bool_value(bool v) override {
        Value x;
        x.kind = Value::Bool;
        x.b = v;
        return add(std::move(x));
    }
    bool number_value(double v) override {
        Value x;
        x.kind = Value::Number;
        x.n = v;
        return add(std::move(x));
    }
    bool string_value(std::string_view s) override {
        Value x;
        x.kind = Value::String;
        x.s = s;
        return add(std::move(x));
    }
    bool begin_object() override {
        Value x;
        x.kind = Value::Object;
        return open(std::move(x));
    }
    bool key(std::string_view k, std::size_t) override {
        Value& obj = *stack_.back();
        for (const auto& existing : obj.keys)
            if (existing == k) {
                error = "duplicate key";
                return false;
            }
        pending_key_ = k;
        return true;
    }
    bool end_object() override { return close(); }
    bool begin_array() override {
        Value x;
        x.kind = Value::Array;
        return open(std::move(x));
    }
    bool end_array() override { return close(); }

  private:
    Value* place(Value&& v) {
        if (stack_.empty()) {
            root = std::move(v);
            return &root;
        }
        Value& parent = *stack_.back();
        if (parent.kind == Value::Object) parent.keys.push_back(std::move(pending_key_));
        parent.items.push_back(std::move(v));
        return &parent.items.back();
    }
    bool add(Value&& v) {
        place(std::move(v));
        return true;
    }
    bool open(Value&& v) {
        stack_.push_back(place(std::move(v)));
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }
    std::vector<Value*> stack_;  // containers being filled; children are appended last,
                                 // so the pointers stay valid while they are open
    std::string pending_key_;
};

void write(json::Writer& w, const Value& v) {
    switch (v.kind) {
        case Value::Null: w.null_value(); break;
        case Value::Bool: w.bool_value(v.b); break;
        case Value::Number: w.number_value(v.n); break;
        case Value::String: fuzz::expect(w.string_value(v.s), "the writer takes every string the reader gave"); break;
        case Value::Array:
            w.begin_array();
            for (const auto& x : v.items) write(w, x);
            w.end_array();
            break;
        case Value::Object:
            w.begin_object();
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                fuzz::expect(w.key(v.keys[i]), "the writer takes every key the reader gave");
                write(w, v.items[i]);
            }
            w.end_object();
            break;
    }
}

// Sorts members recursively, by `less` on keys.
template <class Less>
void sort_members(Value& v, Less less) {
    for (auto& x : v.items) sort_members(x, less);
    if (v.kind != Value::Object) return;
    std::vector<std::size_t> order(v.keys.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return less(v.keys[a], v.keys[b]); });
    std::vector<std::string> keys;
    std::vector<Value> items;
    for (std::size_t i : order) {
        keys.push_back(std::move(v.keys[i]));
        items.push_back(std::move(v.items[i]));
    }
    v.keys = std::move(keys);
    v.items = std::move(items);
}

void collect_keys(const Value& v, std::vector<std::string_view>& keys) {
    for (const auto& k : v.keys) keys.push_back(k);
    for (const auto& x : v.items) collect_keys(x, keys);
}

bool parse(std::string_view text, Value& out, std::string& err) {
    Builder b;
    json::ParseError pe;
    if (!json::parse(text, b, pe)) {
        err = pe.to_string();
        return false;
    }
    out = std::move(b.root);
    return true;
}

std::string emit(const Value& v, bool pretty) {
    std::string out;
    json::Writer w(out, pretty);
    write(w, v);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    Value doc;
    std::string err;
    bool parsed = parse(text, doc, err);
    std::string canonical;
    json::ParseError cerr;
    bool canonicalized = json::canonicalize(text, canonical, cerr);
    fuzz::expect(parsed == canonicalized, "the reader and the canonicalizer accept the same texts",
                 "reader: " + (parsed ? std::string("ok") : err) + "; canonicalizer: " +
                     (canonicalized ? std::string("ok") : cerr.to_string()));
    if (!parsed) return 0;

    for (bool pretty : {false, true}) {
        std::string written = emit(doc, pretty);
        Value again;
        fuzz::expect(parse(written, again, err), "the writer's output parses", written + " : " + err);
        fuzz::expect(equal(doc, again), "decode -> encode -> decode gives the same document", written);
    }

    std::string twice;
    fuzz::expect(json::canonicalize(canonical, twice, cerr), "canonical text canonicalizes", canonical);
    fuzz::expect_equal("canonical text is a fixed point", canonical, twice);
    Value from_canonical;
    fuzz::expect(parse(canonical, from_canonical, err), "canonical text parses", canonical);
    auto by_bytes = [](std::string_view a, std::string_view b) { return a < b; };
    Value sorted_doc = doc;
    sort_members(sorted_doc, by_bytes);
    sort_members(from_canonical, by_bytes);
    fuzz::expect(equal(sorted_doc, from_canonical), "canonical text has the same content", canonical);

    Value jcs_doc = doc;
    sort_members(jcs_doc, [](std::string_view a, std::string_view b) { return hostsync::jcs::key_less(a, b); });
    fuzz::expect_equal("the writer fed keys in key_less order writes canonical JSON", canonical, emit(jcs_doc, false));

    std::vector<std::string_view> keys;
    collect_keys(doc, keys);
    for (std::size_t i = 0; i < keys.size() && i < 64; ++i)
        for (std::size_t j = 0; j < keys.size() && j < 64; ++j)
            if (json::key_before(keys[i], keys[j]) != hostsync::jcs::key_less(keys[i], keys[j]))
                fuzz::property_failed("key_before agrees with jcs::key_less", fuzz::show(keys[i]), fuzz::show(keys[j]));
    return 0;
}
