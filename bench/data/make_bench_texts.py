#!/usr/bin/env python3
"""Writes the texts bench_tokenizer encodes: english.txt (prose), code.txt
(Python and C++) and cjk.txt (Chinese and Japanese), about 40 KB each. The
sentences and snippets below were written for Tern's benchmarks; a fixed seed
arranges them into paragraphs, so the files are reproducible.

Usage: python3 bench/data/make_bench_texts.py  (writes next to this script)
"""
import os
import random

ENGLISH = [
    "The harbour was quiet in the early morning, and the fishing boats rocked gently against the pier.",
    "She had spent most of the winter rewriting the same chapter, convinced that the ending was wrong.",
    "Nobody in the village could remember when the old bridge had last been repaired.",
    "When the train finally arrived, forty minutes late, the platform erupted in weary applause.",
    "He kept a notebook of overheard conversations, which he claimed was research for a novel.",
    "The committee met on Thursdays, although nobody could agree on what it was supposed to decide.",
    "Rain had been falling for three days, and the river was higher than anyone had seen it in years.",
    "Her grandmother's recipe called for a pinch of salt, a handful of flour, and a great deal of patience.",
    "By the time the lecture ended, half of the audience had quietly slipped out through the side doors.",
    "The map was beautifully drawn but, as they soon discovered, almost entirely imaginary.",
    "It's easy to forget how much work goes into a loaf of bread until you try to bake one yourself.",
    "They argued about the budget for an hour and then, exhausted, ordered pizza for everyone.",
    "The lighthouse keeper wrote letters every evening, though he rarely sent any of them.",
    "A small dog followed them all the way from the market to the top of the hill.",
    "Scientists have long debated whether the pattern was caused by wind, water, or something stranger.",
    "If you want to understand a city, walk its streets at dawn, before the traffic wakes up.",
    "The library's oldest book was kept in a glass case, and visitors were asked not to breathe on it.",
    "We'll need at least twelve volunteers, two vans, and a very long extension cord.",
    "The garden had been neglected for decades, yet every spring the roses returned without fail.",
    "His explanation was clear, confident, and completely at odds with the evidence.",
    "Most of the passengers slept through the storm, but the crew worked through the night.",
    "The museum opened a new wing dedicated to clocks, each one set to a different time.",
    "On the third attempt, the kite finally caught the wind and climbed above the trees.",
    "She laughed when she saw the results, because they proved exactly what she'd predicted in 1998.",
    "The recipe serves four people, or two people who have been hiking all day.",
    "Every machine in the workshop had a name, and the oldest lathe was simply called Grandfather.",
    "They didn't expect the negotiations to last until midnight, but nobody wanted to leave first.",
    "The professor paused, adjusted his glasses, and asked whether anyone had actually read the assignment.",
    "A thin layer of frost covered the windows, turning the streetlights into soft yellow blurs.",
    "In the end, the decision came down to a coin toss and a very persuasive cat.",
    "The bakery on the corner sells out of croissants by nine o'clock on Saturdays.",
    "Their first prototype weighed nearly eighty kilograms and needed three people to carry it.",
    "The orchestra tuned their instruments while the conductor stared at the ceiling.",
    "I've never seen so many bicycles in one place, she said, counting them under her breath.",
    "The report was 214 pages long, and its most important finding was hidden in a footnote.",
    "Wind turbines lined the ridge, turning slowly against a pale grey sky.",
    "He promised to call back in five minutes, which, as everyone knew, meant sometime next week.",
    "The children built a fort from blankets, chairs, and an alarming number of cushions.",
    "Her research focused on how birds learn songs from their neighbours rather than their parents.",
    "After the power cut, the whole street gathered outside to look at the stars.",
    "The new policy was announced on Friday afternoon, when nobody was paying attention.",
    "You can't rush a good stew, the cook explained, stirring the pot with a wooden spoon.",
    "Behind the station there was a narrow alley full of tiny restaurants and crowded bars.",
    "The final score was three to two, thanks to a goal in the last minute of extra time.",
    "Nobody had told the interns that the coffee machine was older than they were.",
    "The hikers reached the summit just as the clouds parted, revealing the valley below.",
    "Each chapter of the manual began with a warning, followed by a slightly different warning.",
    "The ferry crossed the bay twice an hour, carrying commuters, tourists, and the occasional goat.",
    "She kept the letter for years before she finally found the courage to open it.",
    "What surprised them most was not the size of the cave but the sound of water somewhere inside.",
]

PYTHON = [
    '''def load_config(path: str) -> dict:
    """Reads a JSON config file and fills in defaults."""
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    config.setdefault("batch_size", 32)
    config.setdefault("learning_rate", 3e-4)
    return config
''',
    '''class RateLimiter:
    def __init__(self, rate: float, burst: int = 10):
        self.rate = rate
        self.tokens = float(burst)
        self.burst = burst
        self.last = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
''',
    '''def moving_average(values, window=5):
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    total = 0.0
    out = []
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out
''',
    '''async def fetch_all(session, urls, limit=8):
    semaphore = asyncio.Semaphore(limit)

    async def fetch(url):
        async with semaphore:
            async with session.get(url, timeout=30) as response:
                response.raise_for_status()
                return await response.text()

    return await asyncio.gather(*(fetch(u) for u in urls))
''',
    '''def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Resize images in a folder.")
    parser.add_argument("input_dir")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--quality", type=int, choices=range(1, 101), default=85)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)
''',
]

CPP = [
    '''// Returns the index of the first element not less than `key`, or -1.
int LowerBound(const std::vector<int>& sorted, int key) {
  int lo = 0, hi = static_cast<int>(sorted.size());
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (sorted[mid] < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < static_cast<int>(sorted.size()) ? lo : -1;
}
''',
    '''template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(size_t capacity) : data_(capacity) {}
  bool Push(T value) {
    if (size_ == data_.size()) return false;
    data_[(head_ + size_++) % data_.size()] = std::move(value);
    return true;
  }
  std::optional<T> Pop() {
    if (size_ == 0) return std::nullopt;
    T value = std::move(data_[head_]);
    head_ = (head_ + 1) % data_.size();
    --size_;
    return value;
  }

 private:
  std::vector<T> data_;
  size_t head_ = 0;
  size_t size_ = 0;
};
''',
    '''absl::StatusOr<Config> ParseConfig(const nlohmann::json& json) {
  Config config;
  if (!json.contains("name") || !json["name"].is_string()) {
    return absl::InvalidArgumentError("config: 'name' must be a string");
  }
  config.name = json["name"].get<std::string>();
  config.threads = json.value("threads", 4);
  for (const auto& [key, value] : json.items()) {
    if (key.rfind("x-", 0) == 0) config.extensions[key] = value.dump();
  }
  return config;
}
''',
    '''void MatMul(const float* a, const float* b, float* c, int m, int n, int k) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int p = 0; p < k; ++p) sum += a[i * k + p] * b[p * n + j];
      c[i * n + j] = sum;
    }
  }
}
''',
]

CHINESE = [
    "清晨的港口很安静，渔船在码头边轻轻摇晃。",
    "她花了整个冬天反复修改同一章，总觉得结尾不对。",
    "村里没有人记得那座旧桥上一次修理是什么时候。",
    "火车晚点了四十分钟，站台上响起了疲惫的掌声。",
    "他有一本笔记本，专门记录无意中听到的对话。",
    "雨已经连续下了三天，河水比往年都要高。",
    "奶奶的菜谱里写着：一小撮盐，一把面粉，还有很多耐心。",
    "地图画得很漂亮，可惜他们很快发现上面的地方几乎都不存在。",
    "如果想了解一座城市，就在清晨车流醒来之前走一走它的街道。",
    "图书馆最古老的那本书放在玻璃柜里，参观的人被要求不要对着它呼气。",
    "花园荒废了几十年，可每到春天玫瑰总会重新开放。",
    "暴风雨中大多数乘客都睡着了，船员们却忙了一整夜。",
    "第三次尝试时，风筝终于迎着风飞过了树梢。",
    "工作坊里的每台机器都有名字，最老的车床就叫“爷爷”。",
    "停电以后，整条街的人都出来看星星。",
    "好的炖菜急不得，厨师一边用木勺搅拌一边解释。",
    "渡轮每小时穿过海湾两次，载着通勤的人、游客，偶尔还有一只山羊。",
    "研究人员发现，这种鸟学唱歌主要是向邻居学，而不是向父母学。",
    "会议从下午一直开到深夜，谁都不愿意先走。",
    "最让他们惊讶的不是山洞有多大，而是里面不知什么地方传来的水声。",
]

JAPANESE = [
    "朝の港は静かで、漁船が桟橋のそばでゆっくりと揺れていた。",
    "彼女は冬のあいだずっと同じ章を書き直していた。",
    "電車は四十分遅れて到着し、ホームから疲れた拍手が起こった。",
    "三日間雨が降り続き、川の水位は例年よりずっと高くなった。",
    "祖母のレシピには、塩ひとつまみと小麦粉ひとつかみ、そしてたくさんの忍耐と書いてあった。",
    "その地図はとても美しかったが、ほとんどが想像の産物だった。",
    "街を知りたければ、車が動き出す前の夜明けに歩いてみるといい。",
    "庭は何十年も放っておかれたが、毎年春になるとバラが咲いた。",
    "三回目の挑戦で、凧はようやく風をつかみ、木々の上まで上がった。",
    "停電のあと、通りの人たちはみんな外に出て星を眺めた。",
    "フェリーは一時間に二回湾を渡り、通勤客や観光客を運んでいる。",
    "研究によると、その鳥は親よりも近所の鳥から歌を覚えるらしい。",
    "会議は夜中まで続いたが、誰も先に帰ろうとしなかった。",
    "コーヒーメーカーが自分たちより年上だとは、誰もインターンに教えていなかった。",
    "ハイカーたちが山頂に着いたちょうどその時、雲が切れて谷が見えた。",
]

TARGET_BYTES = 40_000


def paragraphs(sentences, rng, joiner, per_paragraph=(3, 7)):
    out = []
    size = 0
    while size < TARGET_BYTES:
        n = rng.randint(*per_paragraph)
        paragraph = joiner.join(rng.choice(sentences) for _ in range(n))
        out.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 2
    return "\n\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(2025)
    texts = {
        "english.txt": paragraphs(ENGLISH, rng, " "),
        "code.txt": paragraphs(PYTHON + CPP, rng, "\n", per_paragraph=(1, 3)),
        "cjk.txt": paragraphs(CHINESE + JAPANESE, rng, ""),
    }
    for name, text in texts.items():
        with open(os.path.join(here, name), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{name}: {len(text.encode('utf-8'))} bytes")


if __name__ == "__main__":
    main()
