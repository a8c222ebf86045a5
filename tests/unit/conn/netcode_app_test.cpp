// A program's own message application behind the netcode service, by name:
// added to the HandlerRegistry with its keys, named in [[udpd.service]] as
// application = "NAME", checked when the config is read (its keys, its own
// mistakes), made on each worker with the service's message server, and
// answering a real MessageClient over netcode through the service.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>
#include <bypass/core/config.hpp>
#include <bypass/msg/message_app.hpp>
#include <bypass/msg/message_client.hpp>
#include <bypass/udp/handler_registry.hpp>
#include <bypass/udp/handlers.hpp>

namespace bypass::conn {
namespace {

// Each message back on its channel in capitals, after a prefix of its own key.
class Shout final : public msg::MessageApplication {
 public:
  explicit Shout(std::string prefix) : prefix_(std::move(prefix)) {}
  Status attach(msg::MessageServer* server) override {
    server_ = server;
    return Status::ok();
  }
  void on_open(msg::Session&) override {}
  bool on_message(msg::Session& s, uint8_t channel, bool text,
                  std::span<const uint8_t> bytes) override {
    std::string out = prefix_;
    for (uint8_t b : bytes) out += static_cast<char>(std::toupper(b));
    ++messages_;
    const auto* p = reinterpret_cast<const uint8_t*>(out.data());
    const msg::SendResult r = s.send(channel, text, {p, out.size()});
    return r != msg::SendResult::kQueueFull && r != msg::SendResult::kNoMemory;
  }
  void on_close(msg::Session&, uint16_t, std::string_view) override {}
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const override {
    out.emplace_back("shout.messages", messages_.get());
    out.emplace_back("shout.attached", server_ != nullptr);
  }

 private:
  std::string prefix_;
  msg::MessageServer* server_ = nullptr;
  Counter messages_;
};

HandlerRegistry shout_registry() {
  HandlerRegistry r;
  r.add_application(
      "shout", {"shout_prefix"},
      [](const ConfigSection& service) -> Expected<std::unique_ptr<msg::MessageApplication>> {
        std::string prefix = "> ";
        BYPASS_TRY(service.string("shout_prefix", &prefix));
        if (prefix.size() > 8)
          return service.error("shout_prefix", "is at most 8 characters: shorten it.");
        return std::unique_ptr<msg::MessageApplication>(std::make_unique<Shout>(prefix));
      });
  return r;
}

// A key file for the service, removed at the end.
struct KeyFile {
  KeyFile() {
    char dir[] = "/tmp/bypass-app-XXXXXX";
    path = std::string(mkdtemp(dir)) + "/key.hex";
    std::ofstream(path) << std::string(64, '7') << "\n";
  }
  ~KeyFile() {
    std::remove(path.c_str());
    rmdir(path.substr(0, path.rfind('/')).c_str());
  }
  std::string path;
};

std::string service_toml(const KeyFile& key, const std::string& extra) {
  return "[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n[[udpd.service]]\nport = "
         "40000\nhandler = \"netcode\"\nprotocol_id = 1\nprivate_key_file = \"" +
         key.path + "\"\npublic_addresses = [\"198.18.0.2:40000\"]\n" + extra;
}

Expected<std::vector<ServiceConfig>> services(const KeyFile& key, const std::string& extra,
                                              const HandlerRegistry* added) {
  auto c = parse_config(service_toml(key, extra));
  if (!c) return c.status();
  return read_services(c->app, added);
}

struct NoStaticContent final : HandlerContext {
  Expected<const StaticBlob*> make_static(std::span<const uint8_t>) override {
    return Status::error("none");
  }
  uint32_t max_payload() const override { return 1472; }
};

TEST(NetcodeApp, AProgramsApplicationIsNamedAndItsKeysChecked) {
  const KeyFile key;
  const HandlerRegistry added = shout_registry();
  auto ok = services(key, "application = \"shout\"\nshout_prefix = \"! \"\n", &added);
  ASSERT_TRUE(ok.has_value()) << ok.error();
  EXPECT_EQ((*ok)[0].netcode.application, "shout");

  auto long_prefix =
      services(key, "application = \"shout\"\nshout_prefix = \"123456789\"\n", &added);
  ASSERT_FALSE(long_prefix.has_value());
  EXPECT_NE(long_prefix.error().find("shout_prefix is at most 8 characters: shorten it."),
            std::string::npos)
      << long_prefix.error();

  auto unknown = services(key, "application = \"whisper\"\n", &added);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().find("= \"whisper\" is not an application: use one of "
                                 "\"payload_echo\", \"echo\", \"rooms\", \"shout\"."),
            std::string::npos)
      << unknown.error();

  // Its key with another application, or with no program's applications at all.
  auto elsewhere = services(key, "application = \"echo\"\nshout_prefix = \"! \"\n", &added);
  ASSERT_FALSE(elsewhere.has_value());
  EXPECT_NE(elsewhere.error().find(
                "shout_prefix only applies to application = \"shout\": remove it or set that."),
            std::string::npos)
      << elsewhere.error();
  auto none = services(key, "application = \"shout\"\n", nullptr);
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().find("is not an application"), std::string::npos) << none.error();

  // A program's application may not take a built-in's name, nor a key the
  // service reads itself: said when the config is read.
  HandlerRegistry echo = shout_registry();
  echo.add_application("echo", {}, [](const ConfigSection&) {
    return Expected<std::unique_ptr<msg::MessageApplication>>(Status::error("unused"));
  });
  auto shadow = services(key, "application = \"shout\"\n", &echo);
  ASSERT_FALSE(shadow.has_value());
  EXPECT_EQ(shadow.error(),
            "the program added an application named \"echo\", which is built in: the program "
            "must give it another name.");
  HandlerRegistry clash = shout_registry();
  clash.add_application("clash", {"max_clients"}, [](const ConfigSection&) {
    return Expected<std::unique_ptr<msg::MessageApplication>>(Status::error("unused"));
  });
  auto taken = services(key, "application = \"shout\"\n", &clash);
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().find("the program's application \"clash\" reads key \"max_clients\""),
            std::string::npos)
      << taken.error();
}

// A built-in application's service keeps no copy of its table: a reload
// that writes a default out, or the protocol id another way, changes
// nothing (its connections stay). An added one's does, to be read again.
TEST(NetcodeApp, ABuiltInServiceComparesByWhatItMeans) {
  const KeyFile key;
  const HandlerRegistry added = shout_registry();
  auto a = services(key, "application = \"echo\"\n", &added);
  auto b = services(key, "application = \"echo\"\nmax_clients = 256\n", &added);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_TRUE((*a)[0] == (*b)[0]);
  auto c = services(key, "application = \"shout\"\n", &added);
  auto d = services(key, "application = \"shout\"\nshout_prefix = \"> \"\n", &added);
  ASSERT_TRUE(c.has_value() && d.has_value());
  EXPECT_FALSE((*c)[0] == (*d)[0]) << "the application's keys are in its table";
}

// The service made without the registry (make_handler) cannot run an added
// application: start() says how to make it, rather than echo payloads.
TEST(NetcodeApp, AnAddedApplicationWithoutItsMakerDoesNotStart) {
  ASSERT_TRUE(crypto_init());
  const KeyFile key;
  const HandlerRegistry added = shout_registry();
  auto s = services(key, "application = \"shout\"\n", &added);
  ASSERT_TRUE(s.has_value()) << s.error();
  auto h = make_handler((*s)[0]);
  NoStaticContent ctx;
  const Status st = h->start(ctx);
  EXPECT_EQ(st.message(),
            "netcode: application \"shout\" is the program's own: make the service with "
            "make_service_handler() and the registry that has it.");
}

struct ToServer final : PacketSink {
  void send(const NetcodeAddress&, std::span<const uint8_t> p) override {
    packets.emplace_back(p.begin(), p.end());
  }
  std::vector<std::vector<uint8_t>> packets;
};

struct Heard final : msg::MessageHandler {
  void on_open(msg::Session&) override { ++opened; }
  bool on_message(msg::Session&, uint8_t, bool, std::span<const uint8_t> b) override {
    got.emplace_back(b.begin(), b.end());
    return true;
  }
  void on_close(msg::Session&, uint16_t, std::string_view) override {}
  int opened = 0;
  std::vector<std::string> got;
};

TEST(NetcodeApp, AProgramsApplicationAnswersAClientThroughTheService) {
  ASSERT_TRUE(crypto_init());
  const KeyFile key;
  const HandlerRegistry added = shout_registry();
  auto svcs = services(key, "application = \"shout\"\nshout_prefix = \"! \"\n", &added);
  ASSERT_TRUE(svcs.has_value()) << svcs.error();
  auto handler = make_service_handler((*svcs)[0], &added);
  ASSERT_TRUE(handler.has_value()) << handler.error();
  auto* svc = dynamic_cast<NetcodeService*>(handler->get());
  ASSERT_NE(svc, nullptr);
  NoStaticContent ctx;
  ASSERT_TRUE(svc->start(ctx));
  ASSERT_NE(svc->messages(), nullptr) << "a message application runs on the message layer";

  const SockAddr us{*IpAddr::parse("198.18.0.2"), 40000};
  const SockAddr client{*IpAddr::parse("198.18.0.1"), 5000};
  const auto unix_now = static_cast<uint64_t>(std::time(nullptr));
  PrivateConnectToken priv;
  priv.client_id = 77;
  priv.timeout_seconds = 5;
  priv.num_server_addresses = 1;
  priv.server_addresses[0] = to_netcode(us);
  priv.client_to_server_key = random_key();
  priv.server_to_client_key = random_key();
  std::array<uint8_t, kConnectTokenBytes> token{};
  ASSERT_TRUE(generate_connect_token(priv, {}, 1, unix_now, unix_now + 60,
                                     random_connect_token_nonce(), (*svcs)[0].netcode.private_key,
                                     token));

  ToServer sent;
  Heard heard;
  msg::SessionConfig cc;
  msg::ChunkPool pool(1024);
  msg::SessionCounters counters;
  msg::MessageClient mc(&sent, &heard, &cc, &pool, &counters);
  auto out = std::make_unique<Outbox>();
  const uint8_t link[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
  mc.connect(token, {unix_now, 1000 * 1'000'000ull});
  bool said = false;
  for (uint64_t ms = 1000; ms < 4000 && heard.got.empty(); ms += 10) {
    const Now now{unix_now, ms * 1'000'000};
    if (!said && mc.session().open_for_messages()) {
      const std::string hi = "hello";
      said = mc.session().send(0, true, {reinterpret_cast<const uint8_t*>(hi.data()), hi.size()}) ==
             msg::SendResult::kOk;
    }
    mc.update(now);
    std::vector<std::vector<uint8_t>> to_server;
    to_server.swap(sent.packets);
    out->clear();
    out->now_ns = now.mono_ns;
    out->unix_ns = unix_now * 1'000'000'000ull;
    for (auto& p : to_server) {
      Datagram d;
      d.src = client;
      d.dst = us;
      d.data = p.data();
      d.len = d.room = static_cast<uint32_t>(p.size());
      d.link = link;
      d.link_len = 14;
      svc->on_datagrams({&d, 1}, *out);
      for (size_t i = 0; i < out->peer_size(); ++i) {
        std::vector<uint8_t> back(out->peer_payload(i),
                                  out->peer_payload(i) + out->peer_item(i).len);
        mc.receive(to_netcode(us), back, now);
      }
      out->clear();
    }
    svc->on_tick(*out);
    for (size_t i = 0; i < out->peer_size(); ++i) {
      std::vector<uint8_t> back(out->peer_payload(i), out->peer_payload(i) + out->peer_item(i).len);
      mc.receive(to_netcode(us), back, now);
    }
  }
  EXPECT_EQ(heard.opened, 1);
  ASSERT_EQ(heard.got.size(), 1u);
  EXPECT_EQ(heard.got[0], "! HELLO");
  std::vector<std::pair<std::string, uint64_t>> c;
  svc->counters(c);
  auto value = [&](const std::string& name) {
    for (const auto& [k, v] : c)
      if (k == name) return v;
    return ~uint64_t{0};
  };
  EXPECT_EQ(value("shout.messages"), 1u);
  EXPECT_EQ(value("shout.attached"), 1u);
}

}  // namespace
}  // namespace bypass::conn
