// Server-stream watchers in C++: many streams of one method, each message timed on arrival.
//
// Opens `streams` calls of a server-streaming method spread over `channels` connections, sends
// each the same request, and reads every stream to its end on one completion-queue thread. It
// prints "ready" on stdout once every stream has had its first message (the server's snapshot),
// and at the end writes each message it received to OUT_FILE as a record: the CLOCK_MONOTONIC
// time it arrived (8-byte double, the clock Python's time.perf_counter reads on Linux), a 4-byte
// little-endian length and the message. The Python benchmark decodes the records, so the
// message formats stay in one place. The watchers' own CPU stays small, as h2load's does, so on
// a machine of few cores the server under test, not the client, is what the latency shows.
//
// Usage: grpc_watch TARGET METHOD REQUEST_FILE STREAMS CHANNELS SECONDS OUT_FILE [KEY=VALUE ...]
// Exit status: 0 when every stream ended OK, 1 when one failed or SECONDS passed first.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

enum Op : uintptr_t { kStarted = 0, kWritten = 1, kRead = 2, kFinished = 3 };

struct Stream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
  grpc::ByteBuffer received;
  grpc::Status status;
  bool heard = false;
};

void* Tag(size_t index, Op op) { return reinterpret_cast<void*>(index * 4 + op); }

double Monotonic() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void Append(std::string* out, const void* data, size_t size) {
  out->append(static_cast<const char*>(data), size);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr,
                 "usage: %s TARGET METHOD REQUEST_FILE STREAMS CHANNELS SECONDS OUT_FILE "
                 "[KEY=VALUE ...]\n",
                 argv[0]);
    return 2;
  }
  std::ifstream file(argv[3], std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot read the request from %s\n", argv[3]);
    return 2;
  }
  std::string request((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  size_t count = std::strtoul(argv[4], nullptr, 10);
  int channels = std::max(1, std::atoi(argv[5]));
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      std::chrono::duration<double>(std::atof(argv[6])));
  std::vector<std::pair<std::string, std::string>> metadata;
  for (int i = 8; i < argc; ++i) {
    std::string pair = argv[i];
    auto equals = pair.find('=');
    metadata.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
  }

  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt("grpc.use_local_subchannel_pool", 1);  // one connection per channel
    stubs.push_back(std::make_unique<grpc::GenericStub>(
        grpc::CreateCustomChannel(argv[1], grpc::InsecureChannelCredentials(), arguments)));
  }
  grpc::CompletionQueue queue;
  std::vector<Stream> streams(count);
  for (size_t i = 0; i < count; ++i) {
    Stream& stream = streams[i];
    for (const auto& [key, value] : metadata) stream.context.AddMetadata(key, value);
    stream.context.set_deadline(deadline);
    stream.call = stubs[i % stubs.size()]->PrepareCall(&stream.context, argv[2], &queue);
    stream.call->StartCall(Tag(i, kStarted));
  }

  grpc::Slice slice(request.data(), request.size(), grpc::Slice::STATIC_SLICE);
  grpc::ByteBuffer message(&slice, 1);
  std::string records;  // time, length, bytes: written out once the streams have ended
  size_t heard = 0, ended = 0, failed = 0;
  std::string first_error;
  void* tag;
  bool ok;
  while (ended < count && queue.Next(&tag, &ok)) {
    auto value = reinterpret_cast<uintptr_t>(tag);
    size_t index = value / 4;
    Stream& stream = streams[index];
    switch (static_cast<Op>(value % 4)) {
      case kStarted:
        if (ok) {
          stream.call->WriteLast(message, grpc::WriteOptions(), Tag(index, kWritten));
        } else {
          stream.call->Finish(&stream.status, Tag(index, kFinished));
        }
        break;
      case kWritten:
        stream.call->Read(&stream.received, Tag(index, kRead));
        break;
      case kRead:
        if (!ok) {
          stream.call->Finish(&stream.status, Tag(index, kFinished));
          break;
        }
        {
          double arrived = Monotonic();
          std::vector<grpc::Slice> slices;
          stream.received.Dump(&slices);
          uint32_t length = 0;
          for (const auto& part : slices) length += part.size();
          Append(&records, &arrived, sizeof arrived);
          Append(&records, &length, sizeof length);  // little-endian on the machines we run
          for (const auto& part : slices) Append(&records, part.begin(), part.size());
        }
        if (!stream.heard) {
          stream.heard = true;
          if (++heard == count) {
            std::printf("ready\n");
            std::fflush(stdout);
          }
        }
        stream.call->Read(&stream.received, Tag(index, kRead));
        break;
      case kFinished:
        ++ended;
        if (!stream.status.ok()) {
          ++failed;
          if (first_error.empty()) first_error = stream.status.error_message();
        }
        break;
    }
  }
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  std::ofstream out(argv[7], std::ios::binary);
  out.write(records.data(), static_cast<std::streamsize>(records.size()));
  out.close();
  if (failed) {
    std::fprintf(stderr, "%zu of %zu streams failed; the first: %s\n", failed, count,
                 first_error.c_str());
    return 1;
  }
  return out ? 0 : 1;
}
