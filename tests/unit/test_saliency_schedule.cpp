// The dual-stream schedule on synthetic signals: the fixed pattern, the
// adaptive triggers, the cost budget over long runs, decay values and reset.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "sparseinfer/dual_stream.h"
#include "sparseinfer/error.h"

using namespace sparseinfer;

namespace {

constexpr double kSmallCost = 0.05;  // a Phi' frame's cost in Phi runs (w=0.1 at half resolution is ~1/40)

// Runs the schedule over per-frame signals, committing dense costs; returns the streams.
std::vector<DualStream> run(SaliencySchedule& s, const std::vector<ScheduleSignals>& signals,
                            std::vector<ScheduleDecision>* decisions = nullptr) {
  std::vector<DualStream> out;
  for (const ScheduleSignals& sig : signals) {
    ScheduleDecision d = s.decide(sig);
    s.commit(d, d.stream == DualStream::Large ? 1.0 : kSmallCost);
    out.push_back(d.stream);
    if (decisions) decisions->push_back(d);
  }
  return out;
}

std::string pattern(const std::vector<DualStream>& v) {
  std::string p;
  for (DualStream s : v) p += s == DualStream::Large ? 'L' : 's';
  return p;
}

ScheduleSignals calm(double margin = 0.9, bool has_margin = true) {
  return {0.0, has_margin, margin};
}

ScheduleOptions adaptive(int period, double max_cost) {
  ScheduleOptions o;
  o.kind = ScheduleKind::Adaptive;
  o.period = period;
  o.max_cost = max_cost;
  return o;
}

}  // namespace

TEST(SaliencyDecay, MatchesExpOfMinusKOverTau) {
  EXPECT_FLOAT_EQ(saliency_decay(0, 10.0f), 1.0f);
  EXPECT_FLOAT_EQ(saliency_decay(1, 10.0f), std::exp(-0.1f));
  EXPECT_FLOAT_EQ(saliency_decay(3, 10.0f), std::exp(-0.3f));
  EXPECT_FLOAT_EQ(saliency_decay(10, 10.0f), std::exp(-1.0f));
  EXPECT_FLOAT_EQ(saliency_decay(2, 1.0f), std::exp(-2.0f));
  EXPECT_LT(saliency_decay(4, 10.0f), saliency_decay(3, 10.0f));
  EXPECT_THROW(saliency_decay(-1, 10.0f), Error);
  EXPECT_THROW(saliency_decay(1, 0.0f), Error);
  EXPECT_THROW(saliency_decay(1, NAN), Error);
}

TEST(SaliencySchedule, FixedRunsLargeEveryPeriodFrames) {
  for (int period : {1, 2, 3, 4}) {
    ScheduleOptions o;
    o.period = period;
    SaliencySchedule s(o);
    std::vector<ScheduleDecision> d;
    std::vector<ScheduleSignals> sig(12, ScheduleSignals{1.0, false, 0.0});  // signals do not matter for fixed
    std::vector<DualStream> got = run(s, sig, &d);
    for (size_t i = 0; i < got.size(); ++i) {
      const int64_t k = static_cast<int64_t>(i) % period;
      EXPECT_EQ(got[i], k == 0 ? DualStream::Large : DualStream::Small) << "period " << period << " frame " << i;
      EXPECT_EQ(d[i].k, k) << "period " << period << " frame " << i;
    }
    EXPECT_EQ(d[0].reason, ScheduleReason::FirstFrame);
  }
  ScheduleOptions o;
  o.period = 3;
  SaliencySchedule s(o);
  EXPECT_EQ(pattern(run(s, std::vector<ScheduleSignals>(10, calm(0.0)))), "LssLssLssL");
}

TEST(SaliencySchedule, ResetMakesTheNextFrameLarge) {
  ScheduleOptions o;
  o.period = 4;
  SaliencySchedule s(o);
  run(s, std::vector<ScheduleSignals>(2, calm()));
  EXPECT_EQ(s.frames_since_large(), 1);
  s.reset();
  EXPECT_FALSE(s.has_large());
  EXPECT_EQ(s.frames(), 0);
  EXPECT_DOUBLE_EQ(s.spent_cost(), 0.0);
  ScheduleDecision d = s.decide(calm());
  EXPECT_EQ(d.stream, DualStream::Large);
  EXPECT_EQ(d.reason, ScheduleReason::FirstFrame);
  EXPECT_EQ(pattern(run(s, std::vector<ScheduleSignals>(6, calm()))), "LsssLs");
}

TEST(SaliencySchedule, AdaptiveRunsLargeEarlyOnSceneChange) {
  SaliencySchedule s(adaptive(4, 1.0));  // a budget that never binds
  std::vector<ScheduleDecision> d;
  std::vector<ScheduleSignals> sig(8, calm(0.6));
  sig[2].change_fraction = 0.5;  // a big change two frames after the first Phi run
  std::vector<DualStream> got = run(s, sig, &d);
  EXPECT_EQ(got[1], DualStream::Small);
  EXPECT_EQ(got[2], DualStream::Large);
  EXPECT_EQ(d[2].reason, ScheduleReason::SceneChange);
  EXPECT_EQ(d[2].k, 0);
  // A change below the trigger does not move Phi.
  SaliencySchedule quiet(adaptive(4, 1.0));
  sig[2].change_fraction = 0.1;
  EXPECT_EQ(run(quiet, sig)[2], DualStream::Small);
}

TEST(SaliencySchedule, AdaptiveRunsLargeEarlyWhenSmallIsUnsure) {
  SaliencySchedule s(adaptive(4, 1.0));
  std::vector<ScheduleDecision> d;
  std::vector<ScheduleSignals> sig(6, calm(0.6));
  sig[1] = calm(0.0, false);  // after a Phi frame there is no Phi' margin
  sig[2] = calm(0.05);        // frame 1 (Phi') had top1 - top2 = 0.05
  run(s, sig, &d);
  EXPECT_EQ(d[1].stream, DualStream::Small);
  EXPECT_EQ(d[2].stream, DualStream::Large);
  EXPECT_EQ(d[2].reason, ScheduleReason::LowMargin);
}

TEST(SaliencySchedule, AdaptiveDefersLargeWhileStillUpToMaxPeriod) {
  ScheduleOptions o = adaptive(3, 0.5);
  o.max_period = 7;
  SaliencySchedule s(o);
  std::vector<ScheduleDecision> d;
  std::vector<DualStream> got = run(s, std::vector<ScheduleSignals>(15, calm(0.9)), &d);
  EXPECT_EQ(pattern(got), "LssssssLssssssL");
  EXPECT_EQ(d[3].reason, ScheduleReason::Still);
  EXPECT_EQ(d[7].reason, ScheduleReason::MaxPeriod);
  // The same sequence with moderate motion (not still, below the trigger) keeps the period.
  o.max_cost = 0.6;  // enough for one Phi run every 3 frames
  SaliencySchedule moving(o);
  got = run(moving, std::vector<ScheduleSignals>(10, ScheduleSignals{0.08, true, 0.9}), &d);
  EXPECT_EQ(pattern(got), "LssLssLssL");
}

TEST(SaliencySchedule, AdaptiveBudgetDeniesLargeAndIsNeverExceeded) {
  // Every frame asks for Phi (big changes); the budget decides.
  for (double max_cost : {0.1, 0.25, 0.35, 0.5, 1.0}) {
    SaliencySchedule s(adaptive(3, max_cost));
    std::vector<ScheduleDecision> d;
    run(s, std::vector<ScheduleSignals>(400, ScheduleSignals{0.9, true, 0.0}), &d);
    double spent = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      spent += d[i].stream == DualStream::Large ? 1.0 : kSmallCost;
      const double n = static_cast<double>(i + 1);
      ASSERT_LE(spent, n * max_cost + (1.0 - max_cost) + 1e-9) << "max_cost " << max_cost << " frame " << i;
    }
    EXPECT_NEAR(s.spent_cost(), spent, 1e-9);
    // It spends what it may: the long-run average is close to the ceiling.
    EXPECT_GT(spent / 400.0, max_cost - 0.02) << max_cost;
    if (max_cost < 1.0) {
      bool denied = false;
      for (const ScheduleDecision& x : d) denied |= x.reason == ScheduleReason::OverBudget;
      EXPECT_TRUE(denied) << max_cost;
    }
  }
}

TEST(SaliencySchedule, AdaptiveBudgetHoldsOnRandomSignals) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (double max_cost : {0.15, 0.3}) {
    ScheduleOptions o = adaptive(2, max_cost);
    o.burst = 3.0;
    SaliencySchedule s(o);
    double spent = 0;
    ScheduleSignals sig;
    for (int i = 0; i < 2000; ++i) {
      sig.change_fraction = u(rng) < 0.2 ? u(rng) : 0.0;
      ScheduleDecision d = s.decide(sig);
      const double cost = d.stream == DualStream::Large ? 1.0 : kSmallCost * u(rng);  // change-mode Phi' varies
      s.commit(d, cost);
      spent += cost;
      ASSERT_LE(spent, (i + 1) * max_cost + 1.0) << i;
      sig.has_margin = d.stream == DualStream::Small;
      sig.margin = u(rng);
    }
  }
}

TEST(SaliencySchedule, AdaptiveIsDeterministic) {
  std::vector<ScheduleSignals> sig;
  for (int i = 0; i < 50; ++i) sig.push_back({(i % 7) * 0.05, i % 3 != 0, (i % 5) * 0.2});
  SaliencySchedule a(adaptive(3, 0.4)), b(adaptive(3, 0.4));
  EXPECT_EQ(pattern(run(a, sig)), pattern(run(b, sig)));
}

TEST(SaliencySchedule, RejectsBadOptions) {
  ScheduleOptions o;
  o.period = 0;
  EXPECT_THROW(SaliencySchedule{o}, Error);
  EXPECT_THROW(SaliencySchedule(adaptive(3, 0.0)), Error);
  EXPECT_THROW(SaliencySchedule(adaptive(3, 1.5)), Error);
  ScheduleOptions m = adaptive(4, 0.3);
  m.max_period = 2;
  EXPECT_THROW(SaliencySchedule{m}, Error);
  ScheduleOptions t = adaptive(4, 0.3);
  t.change_trigger = 2.0;
  EXPECT_THROW(SaliencySchedule{t}, Error);
}
