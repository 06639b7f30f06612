#include "metrics/metrics_http.h"

#include <gtest/gtest.h>

#include "http/test_client.h"

namespace dvs::metrics {
namespace {

TEST(MetricsListenerTest, ServesTheRegistryInTheTextFormat) {
  Registry registry;
  Counter& counter = registry.AddCounter("dvs_test_events_total", "Events.");
  counter.Inc(5);
  absl::StatusOr<std::unique_ptr<MetricsListener>> listener =
      MetricsListener::Start("127.0.0.1", 0, registry);
  ASSERT_TRUE(listener.ok()) << listener.status();
  http::testing_client::TestClient client((*listener)->port());
  client.Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  http::testing_client::TestResponse response = client.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(response.body.find("dvs_test_events_total 5\n"), std::string::npos) << response.body;
  counter.Inc();
  client.Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_NE(client.ReadResponse().body.find("dvs_test_events_total 6\n"), std::string::npos);
}

TEST(MetricsListenerTest, ATakenPortIsAnError) {
  Registry registry;
  absl::StatusOr<std::unique_ptr<MetricsListener>> first =
      MetricsListener::Start("127.0.0.1", 0, registry);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(MetricsListener::Start("127.0.0.1", (*first)->port(), registry).ok());
}

}  // namespace
}  // namespace dvs::metrics
