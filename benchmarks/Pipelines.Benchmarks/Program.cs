using Pipelines.Benchmarks;

// dotnet run -c Release --project benchmarks/Pipelines.Benchmarks -- <benchmark> [options]
var benchmarks = new Dictionary<string, Func<string[], int>>
{
    ["decoder-throughput"] = DecoderThroughput.Run,
    ["encoder-throughput"] = EncoderThroughput.Run,
    ["tokenization-throughput"] = TokenizationThroughput.Run,
    ["label-efficiency"] = LabelEfficiencyBenchmark.Run,
    ["ner"] = NerBenchmark.Run,
    ["sweep"] = SweepBenchmark.Run,
    ["memory"] = MemoryBenchmark.Run,
    ["pretraining-overhead"] = PretrainingOverhead.Run,
    ["streaming-pretraining"] = StreamingPretraining.Run,
    ["nanogpt-replica"] = NanoGptReplicaBenchmark.Run,
    ["defaults"] = DefaultsBenchmark.Run,
    ["inference-throughput"] = InferenceThroughput.Run,
    ["methods"] = MethodsBenchmark.Run,
    ["sts"] = SentenceSimilarityBenchmark.Run,
    ["generation"] = GenerationBenchmark.Run,
    ["squad"] = SquadBenchmark.Run,
    ["vocabulary-training"] = VocabularyTraining.Run,
    ["pretraining-budget"] = PretrainingBudget.Run,
};
if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine("usage: Pipelines.Benchmarks <benchmark> [options]; benchmarks: " + string.Join(", ", benchmarks.Keys));
    return 2;
}
return run(args[1..]);
