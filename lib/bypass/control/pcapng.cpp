#include <bypass/control/pcapng.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace bypass {

namespace {

// Block and option layouts: pcapng (draft-ietf-opsawg-pcapng), host byte
// order, every block and option padded to 32 bits.
constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterface = 1, kEnhancedPacket = 6;
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kShbUserAppl = 4, kIfName = 2, kIfTsresol = 9;

void put32(std::vector<uint8_t>& b, uint32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 4);
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 2);
}
void pad(std::vector<uint8_t>& b) {
  while (b.size() % 4) b.push_back(0);
}
void option(std::vector<uint8_t>& b, uint16_t code, const void* data, size_t len) {
  put16(b, code);
  put16(b, static_cast<uint16_t>(len));
  const auto* p = static_cast<const uint8_t*>(data);
  b.insert(b.end(), p, p + len);
  pad(b);
}
void option(std::vector<uint8_t>& b, uint16_t code, const std::string& s) {
  option(b, code, s.data(), std::min<size_t>(s.size(), 0xfff0));
}
// Type, total length, body, total length again.
void block(std::FILE* f, uint32_t type, std::vector<uint8_t>& body) {
  pad(body);
  const uint32_t total = static_cast<uint32_t>(body.size()) + 12;
  std::fwrite(&type, 4, 1, f);
  std::fwrite(&total, 4, 1, f);
  std::fwrite(body.data(), 1, body.size(), f);
  std::fwrite(&total, 4, 1, f);
}

}  // namespace

Expected<PcapngWriter> PcapngWriter::create(const std::string& path, const std::string& comment,
                                            const std::string& interface_name, uint32_t snaplen,
                                            const std::string& application) {
  // Packets and peers' addresses: a new file, readable by the owner and the
  // group only. Never an existing one (it keeps its own owner and mode, and
  // would be cut: a program that may run as root writes over nothing) and
  // never through a symlink.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0 && errno == EEXIST)
    return Status::error("the capture file '" + path +
                         "' exists: give a new path (a capture writes over no file).");
  std::FILE* f = fd >= 0 ? fdopen(fd, "wb") : nullptr;
  if (!f && fd >= 0) close(fd);
  if (!f)
    return Status::error("cannot write the capture file '" + path + "' (" + std::strerror(errno) +
                         "): give a path in a writable directory.");
  std::vector<uint8_t> shb;
  put32(shb, 0x1A2B3C4D);  // byte-order magic
  put16(shb, 1);           // version 1.0
  put16(shb, 0);
  put32(shb, 0xffffffff);  // section length: not given
  put32(shb, 0xffffffff);
  option(shb, kOptComment, comment);
  option(shb, kShbUserAppl, application);
  option(shb, kOptEnd, nullptr, 0);
  block(f, kSectionHeader, shb);
  std::vector<uint8_t> idb;
  put16(idb, 1);  // LINKTYPE_ETHERNET
  put16(idb, 0);
  put32(idb, snaplen);
  option(idb, kIfName, interface_name);
  const uint8_t ns = 9;  // timestamps in 10^-9 s
  option(idb, kIfTsresol, &ns, 1);
  option(idb, kOptEnd, nullptr, 0);
  block(f, kInterface, idb);
  return PcapngWriter(f);
}

PcapngWriter::~PcapngWriter() {
  if (f_) std::fclose(f_);
}

void PcapngWriter::packet(uint64_t unix_ns, uint32_t wire_len, std::span<const uint8_t> data,
                          const std::string& comment) {
  std::vector<uint8_t> epb;
  put32(epb, 0);  // interface 0
  put32(epb, static_cast<uint32_t>(unix_ns >> 32));
  put32(epb, static_cast<uint32_t>(unix_ns));
  put32(epb, static_cast<uint32_t>(data.size()));
  put32(epb, wire_len);
  epb.insert(epb.end(), data.begin(), data.end());
  pad(epb);
  if (!comment.empty()) {
    option(epb, kOptComment, comment);
    option(epb, kOptEnd, nullptr, 0);
  }
  block(f_, kEnhancedPacket, epb);
}

void PcapngWriter::flush() {
  if (f_) std::fflush(f_);
}

bool PcapngWriter::ok() const {
  return f_ && !std::ferror(f_);
}

}  // namespace bypass
