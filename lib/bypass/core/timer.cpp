#include <bypass/core/timer.hpp>

#include <algorithm>

namespace bypass {

TimerWheel::TimerWheel(uint64_t resolution, unsigned slots)
    : resolution_(resolution ? resolution : 1) {
  unsigned n = 1;
  while (n < slots) n <<= 1;
  slots_.assign(n, nullptr);
  mask_ = n - 1;
}

Timer::~Timer() {
  if (wheel_) wheel_->cancel(*this);
}

TimerWheel::~TimerWheel() {
  // Timers that outlive the wheel forget it.
  auto forget = [](Timer* t) {
    while (t) {
      Timer* next = t->next_;
      t->next_ = nullptr;
      t->prev_ = nullptr;
      t->armed_ = false;
      t->running_ = false;
      t->wheel_ = nullptr;
      t = next;
    }
  };
  for (Timer* head : slots_) forget(head);
  forget(pending_);
}

void TimerWheel::insert(Timer& t) {
  Timer*& head = slots_[slot_of(t.due_)];
  t.next_ = head;
  t.prev_ = &head;
  if (head) head->prev_ = &t.next_;
  head = &t;
  t.armed_ = true;
  t.wheel_ = this;
  ++armed_;
}

// Takes `t` off the doubly linked list it is on (a slot, or the pass's).
void TimerWheel::detach(Timer& t) {
  *t.prev_ = t.next_;
  if (t.next_) t.next_->prev_ = t.prev_;
  t.next_ = nullptr;
  t.prev_ = nullptr;
}

void TimerWheel::unlink(Timer& t) {
  detach(t);
  t.armed_ = false;
  t.wheel_ = nullptr;
  --armed_;
}

// Takes `t` off the list of the pass under way: it runs then, or is
// cancelled, re-armed or destroyed before its turn.
void TimerWheel::take_pending(Timer& t) {
  detach(t);
  t.running_ = false;
  t.wheel_ = nullptr;
}

void TimerWheel::arm(Timer& t, uint64_t due, uint64_t period) {
  if (t.armed_)
    unlink(t);
  else if (t.running_)
    take_pending(t);  // armed anew: not run by the pass under way
  t.due_ = due;
  t.period_ = period;
  insert(t);
  // The next pass starts at this timer's slot if it is earlier than where
  // the last pass ended.
  const uint64_t slot = due / resolution_;
  if (!started_ || slot < cursor_) {
    cursor_ = slot;
    started_ = true;
  }
  if (armed_ == 1 || due < next_check_) next_check_ = due;
}

void TimerWheel::cancel(Timer& t) {
  if (t.armed_)
    unlink(t);
  else if (t.running_)
    take_pending(t);
}

unsigned TimerWheel::run_due(Worker& w, uint64_t now) {
  const uint64_t now_slot = now / resolution_;
  // The slots from the last pass to now; after a jump longer than the wheel,
  // each slot once.
  if (now_slot < cursor_) {  // the clock went back: nothing is due before the cursor
    next_check_ = cursor_ * resolution_;
    return 0;
  }
  const uint64_t first = now_slot - cursor_ > mask_ ? now_slot - mask_ : cursor_;
  // Take every due timer out first, onto the pass's list, then run them: a
  // callback may arm, cancel or destroy any timer, itself included, and a
  // timer taken off the list before its turn does not run.
  // Within a slot the list runs newest first; each slot's due timers are
  // reversed so that timers due together run in the order they were armed.
  const uint64_t boundary = (now_slot + 1) * resolution_;
  uint64_t earliest = boundary;  // of the timers left in the slots passed
  Timer** tail = &pending_;
  for (uint64_t s = first; s <= now_slot; ++s) {
    Timer* slot_due = nullptr;
    Timer* slot_last = nullptr;
    for (Timer* t = slots_[s & mask_]; t;) {
      Timer* next = t->next_;
      if (t->due_ <= now) {
        unlink(*t);
        t->next_ = slot_due;
        if (slot_due)
          slot_due->prev_ = &t->next_;
        else
          slot_last = t;
        slot_due = t;
        t->running_ = true;
        t->wheel_ = this;
      } else if (t->due_ < earliest) {
        earliest = t->due_;
      }
      t = next;
    }
    if (slot_due) {
      *tail = slot_due;
      slot_due->prev_ = tail;
      tail = &slot_last->next_;
    }
  }
  cursor_ = now_slot;        // the current slot may still hold a timer due later in it
  next_check_ = UINT64_MAX;  // lowered by what the callbacks arm
  unsigned ran = 0;
  while (pending_) {
    Timer& t = *pending_;
    take_pending(t);
    if (t.period_) {
      // The next run after now: a jump does not replay the periods it skipped.
      uint64_t next = t.due_ + t.period_;
      if (next <= now) next = now + t.period_;
      t.due_ = next;
      insert(t);
      earliest = std::min(earliest, next);
    }
    ++ran;
    t.fn_(t.ctx_, w);
  }
  // Timers later than this slot are found when their slot comes round;
  // callbacks that armed timers earlier than that lowered next_check_.
  next_check_ = armed_ ? std::min(next_check_, earliest) : UINT64_MAX;
  return ran;
}

}  // namespace bypass
