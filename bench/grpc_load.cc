// A closed-loop gRPC load generator in C++, the counterpart of pgbench's C client.
//
// Keeps `concurrency` unary calls of one method in flight for `seconds`, each sending the next
// of the pre-serialized requests in `requests_file` (each used once, so every call carries its
// own idempotency key), and prints one JSON line: calls, failures, elapsed seconds, p50 ms.
// The Python benchmarks write the requests and read the line; the load's own CPU stays small,
// as pgbench's does, so the server under test is what the measurement sees.
//
// Usage: grpc_load TARGET METHOD REQUESTS_FILE SECONDS CONCURRENCY CHANNELS [KEY=VALUE ...]
// REQUESTS_FILE holds records of a 4-byte little-endian length and that many bytes.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Load {
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string method;
  std::string data;
  std::vector<std::pair<size_t, size_t>> requests;  // offset, length in `data`
  Clock::time_point deadline;
  std::atomic<size_t> next{0};
  std::atomic<size_t> failures{0};
  std::mutex mutex;
  std::condition_variable idle;
  int running = 0;
  std::vector<double> latencies_ms;
  std::string first_error;
};

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Clock::time_point started;
};

void Finish(Load* load) {
  std::lock_guard<std::mutex> lock(load->mutex);
  if (--load->running == 0) load->idle.notify_all();
}

void Issue(Load* load, size_t slot) {
  size_t index = load->next.fetch_add(1);
  if (Clock::now() >= load->deadline || index >= load->requests.size()) {
    Finish(load);
    return;
  }
  auto* call = new Call();
  const auto& [offset, length] = load->requests[index];
  grpc::Slice slice(load->data.data() + offset, length, grpc::Slice::STATIC_SLICE);
  call->request = grpc::ByteBuffer(&slice, 1);
  for (const auto& [key, value] : load->metadata) call->context.AddMetadata(key, value);
  call->started = Clock::now();
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto& stub = load->stubs[slot % load->stubs.size()];
  stub->UnaryCall(&call->context, load->method, grpc::StubOptions(), &call->request,
                  &call->response, [load, slot, call](grpc::Status status) {
                    double ms = std::chrono::duration<double, std::milli>(Clock::now() -
                                                                          call->started)
                                    .count();
                    {
                      std::lock_guard<std::mutex> lock(load->mutex);
                      if (status.ok()) {
                        load->latencies_ms.push_back(ms);
                      } else {
                        load->failures.fetch_add(1);
                        if (load->first_error.empty()) load->first_error = status.error_message();
                      }
                    }
                    delete call;
                    Issue(load, slot);
                  });
}

std::string JsonSafe(std::string text) {
  for (char& c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
  }
  return text;
}

bool ReadRequests(const char* path, Load* load) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  load->data.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  size_t at = 0;
  while (at + 4 <= load->data.size()) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(load->data.data() + at);
    size_t length = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (size_t{bytes[3]} << 24);
    if (at + 4 + length > load->data.size()) return false;
    load->requests.emplace_back(at + 4, length);
    at += 4 + length;
  }
  return at == load->data.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: %s TARGET METHOD REQUESTS_FILE SECONDS CONCURRENCY CHANNELS "
                 "[KEY=VALUE ...]\n",
                 argv[0]);
    return 2;
  }
  Load load;
  load.method = argv[2];
  if (!ReadRequests(argv[3], &load)) {
    std::fprintf(stderr, "cannot read requests from %s\n", argv[3]);
    return 2;
  }
  double seconds = std::atof(argv[4]);
  int concurrency = std::atoi(argv[5]);
  int channels = std::atoi(argv[6]);
  for (int i = 7; i < argc; ++i) {
    std::string pair = argv[i];
    auto equals = pair.find('=');
    load.metadata.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
  }
  for (int i = 0; i < std::max(channels, 1); ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt("grpc.use_local_subchannel_pool", 1);  // one connection per channel
    load.stubs.push_back(std::make_unique<grpc::GenericStub>(
        grpc::CreateCustomChannel(argv[1], grpc::InsecureChannelCredentials(), arguments)));
  }
  auto started = Clock::now();
  load.deadline = started + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(seconds));
  load.running = concurrency;
  for (int slot = 0; slot < concurrency; ++slot) Issue(&load, slot);
  std::unique_lock<std::mutex> lock(load.mutex);
  load.idle.wait(lock, [&load] { return load.running == 0; });
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  auto& latencies = load.latencies_ms;
  double p50 = 0;
  if (!latencies.empty()) {
    std::nth_element(latencies.begin(), latencies.begin() + latencies.size() / 2,
                     latencies.end());
    p50 = latencies[latencies.size() / 2];
  }
  std::printf(
      "{\"calls\": %zu, \"failures\": %zu, \"seconds\": %.6f, \"p50_ms\": %.3f, "
      "\"exhausted\": %s, \"first_error\": \"%s\"}\n",
      latencies.size(), load.failures.load(), elapsed, p50,
      load.next.load() >= load.requests.size() ? "true" : "false",
      JsonSafe(load.first_error.substr(0, 200)).c_str());
  return 0;
}
