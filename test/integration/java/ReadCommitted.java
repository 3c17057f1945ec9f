import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The fault tests' second reader: Apache Kafka's own Java consumer, read_committed, prints
 * "topic partition offset" for every record of the given topics up to their end offsets (the last
 * stable offsets). The tests check that their kafkajs reader read exactly these records.
 *
 * <p>Usage: java -cp '.stack/kafka/lib/*' ReadCommitted.java BOOTSTRAP TOPIC...
 */
public class ReadCommitted {
  public static void main(String[] args) {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("isolation.level", "read_committed");
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    long deadline = System.currentTimeMillis() + 120_000;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (int i = 1; i < args.length; i++)
        for (PartitionInfo p : consumer.partitionsFor(args[i]))
          partitions.add(new TopicPartition(p.topic(), p.partition()));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.currentTimeMillis() > deadline)
          throw new IllegalStateException("not at the end offsets " + end + " after 120 s");
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500)))
          System.out.println(r.topic() + " " + r.partition() + " " + r.offset());
      }
    }
  }
}
