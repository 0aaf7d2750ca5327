#include "kite/api/quantity.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace kite::api {
namespace {

struct Canonical {
  const char* in;
  const char* out;
};

// Inputs and the string the API server would print for them.
TEST(Quantity, CanonicalForms) {
  const Canonical table[] = {
      {"0", "0"},
      {"1", "1"},
      {"500m", "500m"},
      {"0.5", "500m"},
      {"1.5", "1500m"},
      {"1000m", "1"},
      {"2Gi", "2Gi"},
      {"1.5Gi", "1536Mi"},
      {"1024Mi", "1Gi"},
      {"1Ki", "1Ki"},
      {"1024", "1024"},
      {"1000", "1k"},
      {"1000M", "1G"},
      {"100M", "100M"},
      {"1e3", "1e3"},
      {"1.2e3", "1200"},
      {"0.1m", "100u"},
      {"1n", "1n"},
      {"0.5n", "1n"},
      {"3.001n", "4n"},
      {"-1", "-1"},
      {"-1.5Gi", "-1536Mi"},
      {".001Ki", "1024m"},
      {".000001Ki", "1024u"},
      {".000000001Ki", "1024n"},
      {".000000000001Ki", "2n"},
      {"1.", "1."},
      {"1.G", "1.G"},
      {"12E", "12E"},
      {"0.00000012345", "124n"},
      {"100.035k", "100.035k"},
      {"307200Ki", "300Mi"},
      {"5000m", "5"},
      {"1080000000n", "1080m"},
      {"0.001T", "1G"},
      {".001e12", "1e9"},
      {"1000e-12", "1e-9"},
      {"00", "0"},
      // Upstream prints some inputs back unchanged rather than canonicalized.
      {"+1k", "+1k"},
      {"1E3", "1E3"},
      {"1.500", "1.500"},
      {"01", "01"},
      {"9Ei", "9223372036854775807"},
      {"0.5Mi", "512Ki"},
      {"1Ei", "1Ei"},
  };
  for (const auto& c : table) {
    EXPECT_EQ(Quantity::parse(c.in).toString(), c.out) << c.in;
  }
}

TEST(Quantity, ValueAndMilliValue) {
  EXPECT_EQ(Quantity::parse("2Gi").value(), 2147483648);
  EXPECT_EQ(Quantity::parse("500m").value(), 1);  // rounded up
  EXPECT_EQ(Quantity::parse("500m").milliValue(), 500);
  EXPECT_EQ(Quantity::parse("1.5").milliValue(), 1500);
  EXPECT_EQ(Quantity::parse("1n").milliValue(), 1);
  EXPECT_EQ(Quantity::parse("-1.5").value(), -2);  // away from zero
  EXPECT_EQ(Quantity::parse("250m").scaledValue(-9), 250000000);
  EXPECT_EQ(Quantity::parse("1e30").value(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Quantity::parse("-1e30").value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Quantity::parse("9223372036854775807Ki").value(),
            std::numeric_limits<int64_t>::max());  // BinarySI caps at 2^63-1
  EXPECT_EQ(Quantity().value(), 0);
}

TEST(Quantity, Compare) {
  EXPECT_EQ(Quantity::parse("1Gi"), Quantity::parse("1073741824"));
  EXPECT_EQ(Quantity::parse("1"), Quantity::parse("1000m"));
  EXPECT_LT(Quantity::parse("50m"), Quantity::parse("100m"));
  EXPECT_GT(Quantity::parse("10000T"), Quantity::parse("100Gi"));
  EXPECT_LT(Quantity::parse("-1"), Quantity::parse("0"));
  EXPECT_LT(Quantity::parse("-2"), Quantity::parse("-1"));
  EXPECT_GT(Quantity::parse("1e100"), Quantity::parse("1e99"));
  EXPECT_EQ(Quantity::parse("0"), Quantity());
}

TEST(Quantity, Arithmetic) {
  Quantity q = Quantity::parse("1");
  q += Quantity::parse("500m");
  EXPECT_EQ(q.toString(), "1500m");
  q -= Quantity::parse("2");
  EXPECT_EQ(q.toString(), "-500m");
  Quantity zero;
  zero += Quantity::parse("1Gi");
  EXPECT_EQ(zero.toString(), "1Gi");  // a zero takes the other side's format
  EXPECT_EQ((Quantity::parse("100m") + Quantity()).toString(), "100m");
  EXPECT_EQ((-Quantity::parse("1Gi")).toString(), "-1Gi");
  EXPECT_THROW(Quantity::parse("1e100") + Quantity::parse("1"), std::overflow_error);
}

TEST(Quantity, Constructors) {
  EXPECT_EQ(Quantity::fromInt(1024, Quantity::Format::BinarySI).toString(), "1Ki");
  EXPECT_EQ(Quantity::fromInt(1000).toString(), "1k");
  EXPECT_EQ(Quantity::fromInt(1000000, Quantity::Format::DecimalExponent).toString(), "1e6");
  EXPECT_EQ(Quantity::fromMilli(1).toString(), "1m");
  EXPECT_EQ(Quantity::fromMilli(1024, Quantity::Format::BinarySI).toString(), "1024m");
  EXPECT_EQ(Quantity::fromScaled(1000, -9).toString(), "1u");
  EXPECT_EQ(Quantity::fromScaled(1, -12).toString(), "1n");  // rounded up to 1n
}

TEST(Quantity, ParseErrors) {
  const char* invalid[] = {"",    "1.1.M", "1+1.0M", "0.1mi",        "0.1am", "aoeu",
                           ".5i", "1i",    "-3.01i", "-3.01e-",      " 1",    "1 ",
                           "1e",  "1Kii",  "--1",    "1e99999999999"};
  for (const char* s : invalid) {
    EXPECT_FALSE(Quantity::tryParse(s).has_value()) << s;
  }
  try {
    Quantity::parse("abc");
    FAIL() << "no error";
  } catch (const QuantityError& e) {
    EXPECT_STREQ(e.what(),
                 "quantities must match the regular expression "
                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  }
  std::string error;
  EXPECT_FALSE(Quantity::tryParse("1Qi", &error));
  EXPECT_EQ(error,
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  EXPECT_FALSE(Quantity::tryParse("1mi", &error));
  EXPECT_EQ(error, "unable to parse quantity's suffix");
  EXPECT_FALSE(Quantity::tryParse(std::string(40, '9'), &error));
}

TEST(Quantity, OddButValid) {
  EXPECT_TRUE(Quantity::parse("-").isZero());
  EXPECT_TRUE(Quantity::parse(".").isZero());
  EXPECT_EQ(Quantity::parse("0.000000000000000000000000000000000001").toString(), "1n");
  EXPECT_EQ(Quantity::parse("1e-2147483648").toString(), "1e-9");
  EXPECT_EQ(Quantity::parse("1e2147483647").toString(), "10e2147483646");
}

}  // namespace
}  // namespace kite::api
