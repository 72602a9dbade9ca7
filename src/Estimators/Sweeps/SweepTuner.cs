namespace Pipelines;

/// <summary>
/// How a sweep picks its trials. Grid and random search train every configuration with the full
/// budget; successive halving (the rule of ASHA, run on one worker) trains many configurations
/// with a small budget and gives more only to the best third at each rung.
/// </summary>
public abstract class SweepTuner
{
    private SweepTuner() { }

    /// <summary>Every combination of the choices and <paramref name="pointsPerRange"/> values per range.</summary>
    public static SweepTuner Grid(int pointsPerRange = 3) => new GridTuner(pointsPerRange);

    /// <summary><paramref name="configurations"/> points sampled from the seed, each with the full budget.</summary>
    public static SweepTuner Random(int configurations) => new RandomTuner(configurations);

    /// <summary>
    /// Successive halving: the same <paramref name="configurations"/> points random search would
    /// sample, trained with <paramref name="minBudget"/> units (e.g. epochs); the best 1/<paramref name="eta"/>
    /// go on with eta times the budget, up to the sweep's MaxBudget. Needs a budget property.
    /// </summary>
    public static SweepTuner SuccessiveHalving(int configurations, int minBudget, int eta = 3) => new HalvingTuner(configurations, minBudget, eta);

    /// <summary>
    /// Runs the tuner: <paramref name="run"/> trains and scores a batch of (point, budget) trials and
    /// returns their metrics oriented so that higher is better (NaN: failed or not run).
    /// </summary>
    internal abstract void Search<T>(SearchSpace<T> space, System.Random random, int maxBudget,
        Func<IReadOnlyList<(T Point, int Budget)>, IReadOnlyList<double>> run) where T : class, new();

    private sealed class GridTuner(int points) : SweepTuner
    {
        internal override void Search<T>(SearchSpace<T> space, System.Random random, int maxBudget, Func<IReadOnlyList<(T, int)>, IReadOnlyList<double>> run) =>
            run(space.Grid(points).Select(p => (p, maxBudget)).ToList());
    }

    private sealed class RandomTuner(int configurations) : SweepTuner
    {
        internal override void Search<T>(SearchSpace<T> space, System.Random random, int maxBudget, Func<IReadOnlyList<(T, int)>, IReadOnlyList<double>> run) =>
            run(Enumerable.Range(0, configurations).Select(_ => (space.Sample(random), maxBudget)).ToList());
    }

    private sealed class HalvingTuner : SweepTuner
    {
        private readonly int _configurations, _minBudget, _eta;

        public HalvingTuner(int configurations, int minBudget, int eta)
        {
            if (configurations < 1) throw new ArgumentOutOfRangeException(nameof(configurations), configurations, "At least one configuration.");
            if (minBudget < 1) throw new ArgumentOutOfRangeException(nameof(minBudget), minBudget, "The smallest budget must be at least 1.");
            if (eta < 2) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be at least 2.");
            (_configurations, _minBudget, _eta) = (configurations, minBudget, eta);
        }

        internal override void Search<T>(SearchSpace<T> space, System.Random random, int maxBudget, Func<IReadOnlyList<(T, int)>, IReadOnlyList<double>> run)
        {
            var survivors = Enumerable.Range(0, _configurations).Select(_ => space.Sample(random)).ToList();
            var budget = Math.Min(_minBudget, maxBudget);
            while (true)
            {
                var scores = run(survivors.Select(p => (p, budget)).ToList());
                if (budget >= maxBudget || survivors.Count <= 1) return;
                var keep = Math.Max(1, survivors.Count / _eta);
                // Best first; failed trials (NaN) last; ties keep sampling order.
                survivors = survivors.Select((p, i) => (p, Score: double.IsNaN(scores[i]) ? double.NegativeInfinity : scores[i], i))
                    .OrderByDescending(x => x.Score).ThenBy(x => x.i).Take(keep).Select(x => x.p).ToList();
                budget = Math.Min(budget * _eta, maxBudget);
            }
        }
    }
}
