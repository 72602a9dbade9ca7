using System.Diagnostics;

namespace Pipelines.Tests.Fuzzing;

/// <summary>What a fuzz run saw: how many mutants loaded, how many were refused and with which exceptions (the innermost, the cause).</summary>
internal sealed record FuzzReport(int Seed, int Iterations, int Loaded, int Refused, IReadOnlyDictionary<string, int> Refusals, TimeSpan Slowest, TimeSpan Total)
{
    public override string ToString() =>
        $"seed {Seed}: {Iterations} mutants, {Loaded} loaded and worked, {Refused} refused " +
        $"({string.Join(", ", Refusals.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}); " +
        $"slowest {Slowest.TotalMilliseconds:F0} ms, total {Total.TotalSeconds:F1} s";
}

/// <summary>
/// Feeds mutants of a valid file to a loader. A mutant must either load and work, or be refused
/// with an exception the caller calls clean (the loader's documented one); any other exception, or
/// one mutant taking longer than the limit (a hang in the making), fails with the seed and the
/// mutation, so the case can be replayed.
/// The number of mutants is the test's default unless PIPELINES_FUZZ_ITERATIONS says otherwise (the
/// long run); the seed is random unless PIPELINES_FUZZ_SEED fixes it.
/// </summary>
internal static class Fuzzer
{
    public static int Iterations(int defaultCount) =>
        int.TryParse(Environment.GetEnvironmentVariable("PIPELINES_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : defaultCount;

    public static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("PIPELINES_FUZZ_SEED"), out var seed) ? seed : Random.Shared.Next();

    public static FuzzReport Run(byte[] valid, Action<byte[]> loadAndUse, Func<Exception, bool> isClean, int defaultIterations, TimeSpan? perMutantLimit = null)
    {
        var (seed, iterations) = (Seed(), Iterations(defaultIterations));
        var limit = perMutantLimit ?? TimeSpan.FromSeconds(10);
        var random = new Random(seed);
        var refusals = new Dictionary<string, int>();
        var (loaded, refused) = (0, 0);
        var slowest = TimeSpan.Zero;
        var total = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            var (mutant, description) = Mutations.Mutate(valid, random);
            var clock = Stopwatch.StartNew();
            try
            {
                loadAndUse(mutant);
                loaded++;
            }
            catch (Exception e) when (isClean(e))
            {
                refused++;
                var root = e;
                while (root.InnerException is { } inner) root = inner;
                var name = root.GetType().Name; // the cause, not ML.NET's TargetInvocationException around it
                refusals[name] = refusals.GetValueOrDefault(name) + 1;
            }
            catch (Exception e)
            {
                throw new AssertFailedException($"seed {seed}, mutant {i} ({description}): {Chain(e)}", e);
            }
            if (clock.Elapsed > slowest) slowest = clock.Elapsed;
            if (clock.Elapsed > limit)
                throw new AssertFailedException($"seed {seed}, mutant {i} ({description}) took {clock.Elapsed.TotalSeconds:F1} s");
        }
        return new FuzzReport(seed, iterations, loaded, refused, refusals, slowest, total.Elapsed);
    }

    private static string Chain(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException) parts.Add($"{x.GetType().Name}: {x.Message}");
        return string.Join(" <- ", parts) + Environment.NewLine + e;
    }
}
