using System.Collections.Concurrent;

namespace Pipelines.Models.Training;

/// <summary>
/// Reads a sequence ahead on a background thread into a bounded queue, so that the work of producing
/// items (reading a file, tokenizing) overlaps training instead of stalling it; on a GPU machine it runs
/// on cores that would otherwise wait. The order is the source's. Disposing the enumerator stops the
/// reader; an exception in the source is rethrown to the consumer.
/// </summary>
internal static class Prefetch
{
    public static IEnumerable<T> Ahead<T>(Func<IEnumerable<T>> source, int capacity)
    {
        using var queue = new BlockingCollection<T>(capacity);
        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        var reader = Task.Factory.StartNew(() =>
        {
            try
            {
                foreach (var item in source())
                    queue.Add(item, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        }, TaskCreationOptions.LongRunning);
        try
        {
            foreach (var item in queue.GetConsumingEnumerable())
                yield return item;
            reader.Wait();
            if (failure is not null) throw new InvalidOperationException($"Reading the training stream failed: {failure.Message}", failure);
        }
        finally
        {
            stop.Cancel();
            try { reader.Wait(); } catch (AggregateException) { }
        }
    }
}
